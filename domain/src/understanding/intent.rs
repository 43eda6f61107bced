//! Intent: what the customer wants, from keywords in the three languages and, failing those,
//! from the fields the message carries.
//!
//! Precedence, first match wins: opt-out, opt-in, asking for a person, cancel, a leading "no"
//! (decline, with any new details carried as the change), reschedule, an explicit booking
//! word, questions about hours / address / menu, confirmation, booking details (party or time),
//! thanks, greeting, any other detail (date, meal, notes), "help", unknown.
//! Weak confirmations ("ok", "vale", "va bene") only confirm a message without booking details.

use std::collections::HashSet;

use super::model::Intent;
use super::text::Token;

/// How the intent was reached; feeds the confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Basis {
    Keyword,
    Details,
    Weak,
    Nothing,
}

/// What the other extractors found, as far as intent cares.
pub(super) struct Details {
    pub party_or_time: bool,
    pub other: bool,
}

/// The words of a message, in order and as a set.
struct Words<'a> {
    seq: Vec<&'a str>,
    set: HashSet<&'a str>,
}

impl Words<'_> {
    /// Any word of the whitespace-separated `list` is in the message.
    fn any(&self, list: &str) -> bool {
        list.split_whitespace().any(|w| self.set.contains(w))
    }

    /// The words `phrase` appear in a row.
    fn has(&self, phrase: &str) -> bool {
        let p: Vec<&str> = phrase.split_whitespace().collect();
        self.seq.windows(p.len()).any(|w| w == p.as_slice())
    }

    /// Any of the `|`-separated phrases appears.
    fn phrase(&self, phrases: &str) -> bool {
        phrases.split('|').any(|p| self.has(p))
    }

    fn first(&self) -> &str {
        self.seq.first().copied().unwrap_or("")
    }
}

const MESSAGES: &str =
    "messaggi messaggio mensajes mensaje messages message texts sms msg notifiche";
const OPT_OUT: &str = "unsubscribe cancellami disiscrivimi disiscrivetemi";
const OPT_OUT_SHORT: &str = "stop basta baja stopp";
const OPT_OUT_NEGATION: &str = "non no nn stop basta more mas piu don dont anymore";
const OPT_IN_SHORT: &str = "start subscribe resubscribe alta unstop iscrivimi";
const OPT_IN_AGAIN: &str = "ricevere recibir receive again volver riattiva";
const HUMAN: &str = "operatore operator operador human humano agent agente titolare responsabile
    encargado gerente manager chiamatemi richiamatemi llamadme llamame";
const HUMAN_PHRASES: &str = "c e qualcuno|hay alguien|anyone there|call me";
const TALK: &str = "parlare parlo speak talk hablar atender atienda passi";
const PERSON: &str = "persona person someone somebody qualcuno alguien real";
const CANCEL: &str = "annulla annullare annullate annullo annulliamo annullata disdire disdico
    disdetta disdiciamo cancellare cancella cancello cancellate cancel cancelled canceled
    cancelling cancelar cancelad cancelo cancela cancelen anular anulo anulad anula anulen";
const DECLINE_PHRASES: &str = "non va bene|nn va bene|not this time|doesn t work|no me va";
const RESCHEDULE: &str = "spostare sposta spostiamo spostarla spostarlo cambiare modificare
    anticipare anticipiamo posticipare posticipiamo rimandare ritardare ritardiamo aggiungere
    invece reschedule move change push postpone earlier later instead cambiar cambiarla cambiala
    mover moverla adelantar adelantamos atrasar atrasamos retrasar aplazar modificar vez lugar";
const BOOK: &str = "prenotare prenoto prenotazione prenotiamo prenota prenotato tavolo tavoli
    posto appuntamento taglio piega colore fissare book booking booked reserve reservation
    reservations table tables tbl appointment haircut cut slot slots availability space room
    reservar reserva reservamos reservo mesa sitio hueco cita corte peinado tinte";
const HOURS: &str = "orari orario aperti aperto aprite apre chiudete chiude chiusi hours open
    opening close closing horario horarios abren abierto abiertos cierran cierra";
const ADDRESS: &str = "indirizzo dove parcheggio parcheggi address located location where
    directions parking direccion donde ubicados ubicacion aparcamiento posizione maps";
const MENU: &str = "menu carta piatti prezzi prezzo costa costo listino price prices cost dishes
    options opzioni opciones platos precios precio cuesta degustazione";
const YES: &str = "yes yeah yep yup confermo confermato confermiamo confirm confirmed confirmo
    confirmado certo esatto exacto perfetto perfect perfecto claro works sure";
const YES_PHRASES: &str =
    "sounds good|see you|ci vediamo|nos vemos|de acuerdo|that s fine|ll be there";
const WEAK_YES: &str = "ok okay okk k vale alright daccordo";
const THANKS: &str = "grazie grz thanks thank thx ty cheers gracias grax merci tks";
const GREETING: &str = "ciao salve buongiorno buonasera hey hi hello hiya hola buenas buenos ehi
    eyy ey hei";
const HELP: &str = "aiuto help ayuda";

pub(super) fn classify(tokens: &[Token], text: &str, details: &Details) -> (Intent, Basis) {
    let seq: Vec<&str> = tokens
        .iter()
        .filter(|t| t.is_word())
        .map(|t| t.norm.as_str())
        .collect();
    let words = Words {
        set: seq.iter().copied().collect(),
        seq,
    };
    let short = words.seq.len() <= 3;
    let keyword = |i: Intent| (i, Basis::Keyword);

    let about_messages = words.any(MESSAGES);
    if words.any(OPT_OUT)
        || words.has("opt out")
        || words.has("de baja")
        || (short && words.any(OPT_OUT_SHORT))
        || (words.has("stop") && words.any("texting sending messaging writing me"))
        || (about_messages && words.any(OPT_OUT_NEGATION))
    {
        return keyword(Intent::OptOut);
    }
    if (short && words.any(OPT_IN_SHORT))
        || words.has("opt in")
        || words.any("resubscribe iscrivimi")
        || (about_messages && words.any(OPT_IN_AGAIN))
    {
        return keyword(Intent::OptIn);
    }
    if words.any(HUMAN) || words.phrase(HUMAN_PHRASES) || (words.any(TALK) && words.any(PERSON)) {
        return keyword(Intent::Human);
    }
    if words.any(CANCEL) || words.phrase("can t make it|cant make it") {
        return keyword(Intent::Cancel);
    }
    if matches!(words.first(), "no" | "nope" | "nah" | "nop") || words.phrase(DECLINE_PHRASES) {
        return keyword(Intent::Decline);
    }
    for (list, intent) in [
        (RESCHEDULE, Intent::Reschedule),
        (BOOK, Intent::Book),
        (HOURS, Intent::AskHours),
    ] {
        if words.any(list) {
            return keyword(intent);
        }
    }
    if words.any(ADDRESS)
        || words.has("che via")
        || (words.has("come") && words.any("arriva arrivo arrivare"))
        || (words.has("como") && words.any("llego llegar llegamos"))
    {
        return keyword(Intent::AskAddress);
    }
    if words.any(MENU) || words.has("how much") {
        return keyword(Intent::AskMenu);
    }
    // "si può ..." asks whether something can be done; it is not a yes.
    let yes = words.seq.iter().enumerate().any(|(i, w)| {
        *w == "si"
            && !matches!(
                words.seq.get(i + 1).copied(),
                Some("puo" | "potrebbe" | "puede" | "prega")
            )
    });
    if yes
        || words.any(YES)
        || words.phrase(YES_PHRASES)
        || (words.seq.is_empty() && text.contains('👍'))
    {
        return keyword(Intent::Confirm);
    }
    let weak_yes = words.any(WEAK_YES) || words.phrase("va bene|d accordo");
    if weak_yes && !details.party_or_time && !details.other {
        return (Intent::Confirm, Basis::Weak);
    }
    if details.party_or_time {
        return (Intent::Book, Basis::Details);
    }
    if words.any(THANKS) {
        return keyword(Intent::Thanks);
    }
    if words.any(GREETING)
        || matches!(words.first(), "morning" | "evening" | "afternoon")
        || words.phrase("good morning|good evening|good afternoon")
    {
        return keyword(Intent::Greeting);
    }
    if details.other {
        return (Intent::Book, Basis::Details);
    }
    if words.any(HELP) {
        return (Intent::Human, Basis::Weak);
    }
    (Intent::Unknown, Basis::Nothing)
}
