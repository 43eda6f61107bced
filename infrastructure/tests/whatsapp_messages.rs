//! Every inbound message type Meta documents, from a fixture shaped like Meta's examples, to its
//! normalised form; plus context, referral, the identity rule and what is unknown.
#![allow(clippy::unwrap_used)]

use lyo_infrastructure::whatsapp::{
    parse_delivery, Content, CustomerKey, Delivery, InboundMessage, ReferredProduct,
};

const WA_ID: &str = "16505551234";
const BSUID: &str = "US.13491208655302741918";

fn fixture(name: &str) -> Delivery {
    let path = format!(
        "{}/tests/fixtures/whatsapp/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_delivery(&std::fs::read(path).unwrap()).unwrap()
}

/// The single message of a single-message fixture.
fn only_message(name: &str) -> InboundMessage {
    let delivery = fixture(name);
    let messages: Vec<_> = delivery.messages().map(|(_, m)| m.clone()).collect();
    assert_eq!(messages.len(), 1, "{name}");
    messages.into_iter().next().unwrap()
}

#[test]
fn text_keeps_ids_timestamp_body_and_sender() {
    let delivery = fixture("text");
    assert_eq!(delivery.object, "whatsapp_business_account");
    assert_eq!(delivery.phone_number_ids(), ["106540352242922"]);
    let change = &delivery.changes[0];
    assert_eq!(change.business_account_id, "102290129340398");
    assert_eq!(change.field, "messages");
    assert_eq!(change.display_phone_number.as_deref(), Some("15550783881"));
    assert_eq!(change.value, None);
    let message = &change.messages[0];
    assert!(message.id.starts_with("wamid."));
    assert_eq!(message.timestamp, 1_749_416_383);
    assert_eq!(message.kind, "text");
    let body = "Does it come in another color?".to_owned();
    assert_eq!(message.content, Content::Text { body });
    assert!(message.errors.is_empty() && message.extra.is_empty());
    let contact = change.contact_of(message).unwrap();
    assert_eq!(contact.name.as_deref(), Some("Sheena Nelson"));
}

#[test]
fn media_types_keep_id_mime_type_sha256_and_their_own_fields() {
    let Content::Image(image) = only_message("image").content else {
        panic!("image")
    };
    assert_eq!(image.id, "1003383421387256");
    assert_eq!(image.mime_type.as_deref(), Some("image/jpeg"));
    assert!(image.sha256.is_some() && image.url.is_some());
    assert_eq!(
        image.caption.as_deref(),
        Some("Il tavolo vicino alla finestra")
    );

    let Content::Audio(audio) = only_message("audio").content else {
        panic!("audio")
    };
    assert_eq!(audio.voice, Some(true));
    assert_eq!(audio.mime_type.as_deref(), Some("audio/ogg; codecs=opus"));

    let Content::Video(video) = only_message("video").content else {
        panic!("video")
    };
    assert_eq!(video.caption.as_deref(), Some("Here is the entrance"));

    let Content::Document(document) = only_message("document").content else {
        panic!("doc")
    };
    assert_eq!(document.filename.as_deref(), Some("allergeni.pdf"));
    assert_eq!(document.mime_type.as_deref(), Some("application/pdf"));

    let Content::Sticker(sticker) = only_message("sticker").content else {
        panic!("sticker")
    };
    assert_eq!(sticker.animated, Some(false));
    assert_eq!(sticker.id, "1234914261454497");
}

#[test]
fn location_keeps_coordinates_name_address_and_url() {
    let Content::Location(location) = only_message("location").content else {
        panic!()
    };
    assert_eq!(location.latitude, Some(37.483307));
    assert_eq!(location.longitude, Some(-122.148981));
    assert_eq!(location.name.as_deref(), Some("Philz Coffee"));
    assert!(location.address.is_some() && location.url.is_some());
}

#[test]
fn contacts_keep_each_card_structured_and_raw() {
    let Content::Contacts(cards) = only_message("contacts").content else {
        panic!()
    };
    assert_eq!(cards.len(), 1);
    assert_eq!(
        cards[0].formatted_name.as_deref(),
        Some("Barbara J. Johnson")
    );
    assert_eq!(cards[0].phones[0].wa_id.as_deref(), Some("19405551234"));
    assert_eq!(cards[0].phones[0].kind.as_deref(), Some("HOME"));
    assert_eq!(cards[0].raw["org"]["company"], "Social Media");
}

#[test]
fn interactive_replies_keep_ids_titles_and_the_flow_response() {
    let message = only_message("interactive_button_reply");
    assert_eq!(message.kind, "interactive");
    let title = Some("Confermo".to_owned());
    let id = "confirm-booking".to_owned();
    assert_eq!(message.content, Content::ButtonReply { id, title });
    assert!(message.context.unwrap().id.is_some());

    let Content::ListReply {
        id,
        title,
        description,
    } = only_message("interactive_list_reply").content
    else {
        panic!()
    };
    assert_eq!(id, "slot-2026-09-12T20:00");
    assert_eq!(title.as_deref(), Some("Sat 20:00"));
    assert_eq!(description.as_deref(), Some("Table for 4, terrace"));

    let flow = only_message("interactive_nfm_reply").content;
    assert_eq!(flow.kind(), "nfm_reply");
    let Content::FlowReply {
        name,
        body,
        response_json,
    } = flow
    else {
        panic!()
    };
    assert_eq!(
        (name.as_deref(), body.as_deref()),
        (Some("flow"), Some("Sent"))
    );
    let answer: serde_json::Value = serde_json::from_str(&response_json.unwrap()).unwrap();
    assert_eq!(answer["party_size"], "4");
}

#[test]
fn a_template_button_keeps_payload_text_and_the_message_it_answers() {
    let message = only_message("button");
    let payload = Some("RESCHEDULE".to_owned());
    let text = Some("Sposta prenotazione".to_owned());
    assert_eq!(message.content, Content::Button { payload, text });
    let context = message.context.unwrap();
    assert_eq!(context.from.as_deref(), Some("15550783881"));
    assert!(!context.forwarded);
}

#[test]
fn a_reaction_has_an_emoji_and_a_removed_reaction_has_none() {
    let Content::Reaction { message_id, emoji } = only_message("reaction").content else {
        panic!()
    };
    assert!(message_id.starts_with("wamid."));
    assert_eq!(emoji.as_deref(), Some("👍"));
    let removed = only_message("reaction_removed").content;
    assert!(matches!(removed, Content::Reaction { emoji: None, .. }));
}

#[test]
fn an_order_keeps_catalog_text_and_items_with_numbers_or_strings() {
    let Content::Order(order) = only_message("order").content else {
        panic!()
    };
    assert_eq!(order.catalog_id.as_deref(), Some("194836987003835"));
    assert_eq!(order.text.as_deref(), Some("Per stasera, grazie"));
    let items = &order.product_items;
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0].quantity, items[0].item_price),
        (Some(2), Some(12.5))
    );
    assert_eq!(
        (items[1].quantity, items[1].item_price),
        (Some(1), Some(6.0))
    );
    assert_eq!(items[1].currency.as_deref(), Some("EUR"));
}

#[test]
fn system_messages_carry_number_and_user_id_changes() {
    let delivery = fixture("system_user_changed_number");
    assert!(
        delivery.changes[0].contacts.is_empty(),
        "system messages come without contacts"
    );
    let message = &delivery.changes[0].messages[0];
    assert_eq!(message.customer_key(), Some(CustomerKey::WaId(WA_ID)));
    let Content::System(system) = &message.content else {
        panic!()
    };
    assert_eq!(system.kind.as_deref(), Some("user_changed_number"));
    assert_eq!(system.wa_id.as_deref(), Some("16505559999"));
    assert_eq!(system.user_id.as_deref(), Some("US.5550001112223334445"));
    assert_eq!(system.previous_user_id.as_deref(), Some(BSUID));

    let message = only_message("system_user_changed_user_id");
    assert_eq!(message.customer_key(), Some(CustomerKey::UserId(BSUID)));
    let Content::System(system) = message.content else {
        panic!()
    };
    assert_eq!(system.kind.as_deref(), Some("user_changed_user_id"));
    assert_eq!(system.user_id.as_deref(), Some("US.7778889990001112223"));
    assert_eq!(system.previous_user_id.as_deref(), Some(BSUID));
    assert!(system.parent_user_id.is_some() && system.previous_parent_user_id.is_some());
    assert_eq!(system.wa_id, None);
}

#[test]
fn revoke_and_edit_point_at_the_original_and_edit_carries_the_new_content() {
    let original = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=".to_owned();
    let revoke = only_message("revoke").content;
    let original_message_id = original.clone();
    assert_eq!(
        revoke,
        Content::Revoke {
            original_message_id
        }
    );

    let Content::Edit {
        original_message_id,
        content,
    } = only_message("edit").content
    else {
        panic!()
    };
    assert_eq!(original_message_id, original);
    let body = "Siamo in 5, non in 4".to_owned();
    assert_eq!(content.as_deref(), Some(&Content::Text { body }));
}

#[test]
fn unsupported_keeps_its_kind_and_its_errors() {
    let message = only_message("unsupported");
    let kind = Some("poll_creation".to_owned());
    assert_eq!(message.content, Content::Unsupported { kind });
    assert_eq!(message.errors.len(), 1);
    assert_eq!(message.errors[0].code, Some(131051));
    assert_eq!(
        message.errors[0].title.as_deref(),
        Some("Message type unknown")
    );
    assert_eq!(
        message.errors[0].details.as_deref(),
        Some("Message type is currently not supported.")
    );
}

#[test]
fn a_referral_from_an_ad_is_kept_beside_the_content() {
    let message = only_message("referral");
    assert!(matches!(message.content, Content::Text { .. }));
    let referral = message.referral.unwrap();
    assert_eq!(referral.source_type.as_deref(), Some("ad"));
    assert_eq!(referral.source_id.as_deref(), Some("120226305854810726"));
    assert_eq!(referral.media_type.as_deref(), Some("image"));
    assert!(referral.ctwa_clid.is_some() && referral.headline.is_some());
    assert_eq!(
        referral.welcome_message.as_deref(),
        Some("Hi! How can we help?")
    );
}

#[test]
fn context_keeps_forwarding_flags_and_the_referred_product() {
    let context = only_message("context_forwarded_product").context.unwrap();
    assert!(context.forwarded && context.frequently_forwarded);
    let product = ReferredProduct {
        catalog_id: Some("194836987003835".to_owned()),
        product_retailer_id: Some("di9ozbzfi4".to_owned()),
    };
    assert_eq!(context.referred_product, Some(product));
}

#[test]
fn the_customer_is_keyed_on_the_user_id_and_linked_to_the_phone_when_both_appear() {
    let message = only_message("text");
    assert_eq!(message.customer_key(), Some(CustomerKey::UserId(BSUID)));
    assert_eq!(message.customer_key().unwrap().as_str(), BSUID);
    let link = message.identity_link().unwrap();
    assert_eq!((link.user_id, link.wa_id), (BSUID, WA_ID));
    let contact = &fixture("text").changes[0].contacts[0];
    assert_eq!(contact.customer_key(), Some(CustomerKey::UserId(BSUID)));
    assert!(contact.identity_link().is_some());
}

#[test]
fn a_customer_with_only_a_user_id_is_keyed_on_it_and_has_nothing_to_link() {
    let delivery = fixture("user_id_only");
    let change = &delivery.changes[0];
    let message = &change.messages[0];
    assert_eq!(message.from, None);
    let key = CustomerKey::UserId("IT.1502576394655843");
    assert_eq!(message.customer_key(), Some(key));
    assert_eq!(message.identity_link(), None);
    let contact = change.contact_of(message).unwrap();
    assert_eq!(contact.wa_id, None);
    assert_eq!(contact.username.as_deref(), Some("@marta.r"));
    assert_eq!(
        contact.parent_user_id.as_deref(),
        Some("IT.ENT.11815799212886844830")
    );
}

#[test]
fn a_phone_only_customer_is_keyed_on_the_wa_id() {
    let delivery = fixture("batch");
    let (_, message) = delivery
        .messages()
        .find(|(_, m)| m.id == "wamid.BATCH-2")
        .unwrap();
    assert_eq!(
        message.customer_key(),
        Some(CustomerKey::WaId("393331112222"))
    );
    assert_eq!(message.identity_link(), None);
}

#[test]
fn an_unknown_message_type_is_kept_raw() {
    let message = only_message("unknown_type");
    assert_eq!(message.kind, "hologram");
    let Content::Unknown { kind, raw } = &message.content else {
        panic!()
    };
    assert_eq!(kind, "hologram");
    assert_eq!(raw["hologram"]["frames"], 3);
    assert_eq!(message.extra["hologram"]["frames"], 3);
    assert_eq!(message.customer_key(), Some(CustomerKey::UserId(BSUID)));
}
