//! Opening what a send needs: the sealed reply, the sealed recipient ids, the token.
use super::accounts::Account;
use super::dispatcher::{DispatchError, Dispatcher};
use super::store::{self, Claimed};
use lyo_application::outbound::Recipient;
use lyo_domain::conversation::ConversationEvent;
use lyo_domain::delivery::DeadLetterReason;
use lyo_domain::personal::Personal;
use lyo_domain::reply::Reply;
use secrecy::SecretString;

impl Dispatcher {
    pub(super) fn token(&self, account: &Account) -> Option<SecretString> {
        match &account.access_token {
            Some(token) => Some(token.clone()),
            None if !self.inner.config.requires_token => Some(SecretString::from(String::new())),
            None => None,
        }
    }

    /// The reply of the `ReplyQueued` event, opened; `None` once the customer was erased.
    pub(super) async fn reply(&self, row: &Claimed) -> Result<Option<Reply>, DispatchError> {
        let payload =
            store::conversation_payload(&self.inner.db, &row.subject_id, row.event_sequence)
                .await?;
        self.open_reply(payload).await
    }

    /// Opens a stored `ReplyQueued` payload; `None` when there is none or it was erased.
    pub(super) async fn open_reply(
        &self,
        payload: Option<serde_json::Value>,
    ) -> Result<Option<Reply>, DispatchError> {
        let Some(mut payload) = payload else {
            return Ok(None);
        };
        self.inner
            .repository
            .vault()
            .open_payload(&mut payload)
            .await?;
        match serde_json::from_value::<ConversationEvent>(payload) {
            Ok(ConversationEvent::ReplyQueued { reply, .. }) => Ok(reply.value().cloned()),
            _ => Ok(None),
        }
    }

    /// The customer's ids, opened; a dead-letter reason when there is nobody to send to.
    pub(super) async fn recipient(
        &self,
        customer: &store::CustomerRow,
    ) -> Result<Result<Recipient, DeadLetterReason>, DispatchError> {
        let parse = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                .unwrap_or(serde_json::Value::Null)
        };
        let mut ids = serde_json::json!({
            "wa_id": parse(&customer.wa_id),
            "user_id": parse(&customer.user_id),
        });
        self.inner.repository.vault().open_payload(&mut ids).await?;
        let open = |name: &str| -> (bool, Option<String>) {
            match serde_json::from_value::<Option<Personal<String>>>(ids[name].clone()) {
                Ok(Some(p)) => (p.is_redacted(), p.value().cloned()),
                _ => (false, None),
            }
        };
        let (wa_erased, wa_id) = open("wa_id");
        let (user_erased, user_id) = open("user_id");
        Ok(match Recipient::from_ids(wa_id, user_id) {
            Some(recipient) => Ok(recipient),
            None if wa_erased || user_erased => Err(DeadLetterReason::Erased),
            None => Err(DeadLetterReason::NoRecipient),
        })
    }
}
