//! Every sentence the assistant says, in Italian, English and Spanish, in one place. Callers
//! pass already-rendered, already-bounded parts (dates, summary lines, names cut with `fit`).
//!
//! Invariant: button and list-button labels fit WhatsApp's 20 characters (tested below).

use crate::understanding::Language::{self, En, Es, It};

/// A sentence with its parts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Msg<'a> {
    Greeting { tenant: &'a str, salon: bool },
    BookingsClosed { tenant: &'a str },
    Thanks,
    Hours { hours: &'a str },
    Address { tenant: &'a str, address: &'a str },
    NoAddress { tenant: &'a str },
    NoHours { tenant: &'a str },
    NoMenu,
    AskDate,
    AskTime { date: &'a str, hours: &'a str },
    AskParty,
    AskService,
    AskName,
    Summary { line: &'a str },
    WhatToChange,
    Closed { date: &'a str },
    NotBookableTime { date: &'a str, hours: &'a str },
    TooSoon,
    TooFarAhead { days: u16 },
    PartyTooLarge { max: u16 },
    StaffDoesNotOffer { staff: &'a str },
    Dropped,
    Confirmed { line: &'a str, tenant: &'a str },
    AwaitingStaff { line: &'a str },
    Taken { what: &'a str },
    NothingNear { what: &'a str },
    NoBookings,
    PickBooking { change: super::ChangeKind },
    ConfirmCancel { line: &'a str },
    Cancelled { line: &'a str },
    CancelRefused { too_late: bool, tenant: &'a str },
    KeepIt,
    AskNewTime { line: &'a str },
    ConfirmMove { from: &'a str, to: &'a str },
    Moved { line: &'a str },
    StaffConfirmed { line: &'a str },
    StaffRejected { line: &'a str },
    StaffCancelled { line: &'a str },
    StaffReason { reason: &'a str },
    HandOff,
    HandOffMisunderstood,
    NotUnderstood,
    Help { salon: bool },
    OptedOut,
    OptedIn,
    Reminder { line: &'a str, tenant: &'a str },
    AttendanceConfirmed { tenant: &'a str },
}

/// Short labels for buttons and list buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    Confirm,
    Change,
    CancelIt,
    Keep,
    MoveIt,
    FreeTimes,
    Services,
    Bookings,
}

pub(crate) fn label(lang: Language, label: Label) -> &'static str {
    use Label::*;
    match (lang, label) {
        (It, Confirm) => "Conferma",
        (En, Confirm) => "Confirm",
        (Es, Confirm) => "Confirmar",
        (It, Change) => "Modifica",
        (En, Change) => "Change",
        (Es, Change) => "Cambiar",
        (It, CancelIt) => "Annulla",
        (En, CancelIt) => "Cancel it",
        (Es, CancelIt) => "Anular",
        (It, Keep) => "Mantieni",
        (En, Keep) => "Keep it",
        (Es, Keep) => "Mantener",
        (It, MoveIt) => "Sposta",
        (En, MoveIt) => "Move it",
        (Es, MoveIt) => "Mover",
        (It, FreeTimes) => "Orari liberi",
        (En, FreeTimes) => "Free times",
        (Es, FreeTimes) => "Horas libres",
        (It, Services) => "Servizi",
        (En, Services) => "Services",
        (Es, Services) => "Servicios",
        (It, Bookings) => "Prenotazioni",
        (En, Bookings) => "Bookings",
        (Es, Bookings) => "Reservas",
    }
}

/// "4 persone", "1 person", "4 personas".
pub(crate) fn people(lang: Language, n: u16) -> String {
    match (lang, n) {
        (It, 1) => "1 persona".into(),
        (It, n) => format!("{n} persone"),
        (En, 1) => "1 person".into(),
        (En, n) => format!("{n} people"),
        (Es, 1) => "1 persona".into(),
        (Es, n) => format!("{n} personas"),
    }
}

/// Day names for dates ("Sab 28/11") and opening hours, Monday first.
pub(crate) fn weekday(lang: Language, monday_zero: usize) -> &'static str {
    const IT: [&str; 7] = ["Lun", "Mar", "Mer", "Gio", "Ven", "Sab", "Dom"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const ES: [&str; 7] = ["Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom"];
    let names = match lang {
        It => IT,
        En => EN,
        Es => ES,
    };
    names[monday_zero % 7]
}

pub(crate) fn closed_word(lang: Language) -> &'static str {
    match lang {
        It => "chiuso",
        En => "closed",
        Es => "cerrado",
    }
}

pub(crate) fn say(lang: Language, msg: Msg<'_>) -> String {
    match lang {
        It => italian(msg),
        En => english(msg),
        Es => spanish(msg),
    }
}

fn italian(msg: Msg<'_>) -> String {
    use Msg::*;
    match msg {
        Greeting { tenant, salon: false } => format!("Ciao! Sono l'assistente di {tenant}. Posso prenotarti un tavolo: dimmi giorno, ora e quante persone."),
        Greeting { tenant, salon: true } => format!("Ciao! Sono l'assistente di {tenant}. Posso fissarti un appuntamento: dimmi il servizio, il giorno e l'ora."),
        BookingsClosed { tenant } => format!("Le prenotazioni via chat non sono ancora attive: contatta {tenant} direttamente."),
        Thanks => "Grazie a te! 😊".into(),
        Hours { hours } => format!("I nostri orari:\n{hours}"),
        Address { tenant, address } => format!("{tenant} si trova in {address}."),
        NoAddress { tenant } => format!("Non ho l'indirizzo di {tenant} qui in chat, scusa."),
        NoHours { tenant } => format!("Non ho gli orari di {tenant} qui in chat, scusa."),
        NoMenu => "Il menu non è disponibile in chat, scusa.".into(),
        AskDate => "Per quale giorno?".into(),
        AskTime { date, hours } => format!("A che ora, {date}? ({hours})"),
        AskParty => "Per quante persone?".into(),
        AskService => "Quale servizio desideri?".into(),
        AskName => "A che nome prenoto?".into(),
        Summary { line } => format!("{line}\nConfermi?"),
        WhatToChange => "Cosa vuoi cambiare? Scrivimi il giorno, l'ora o il numero di persone.".into(),
        Closed { date } => format!("{date} siamo chiusi."),
        NotBookableTime { date, hours } => format!("{date} a quell'ora non si può prenotare (orari: {hours})."),
        TooSoon => "Quell'orario è già passato o è troppo vicino.".into(),
        TooFarAhead { days } => format!("Si può prenotare al massimo {days} giorni prima."),
        PartyTooLarge { max } => format!("In chat prenotiamo fino a {max} persone; per gruppi più grandi contattaci."),
        StaffDoesNotOffer { staff } => format!("{staff} non fa questo servizio: prenoto con chi è libero."),
        Dropped => "Va bene, lascio perdere la prenotazione.".into(),
        Confirmed { line, tenant } => format!("Prenotazione confermata ✅\n{line}\nA presto da {tenant}!"),
        AwaitingStaff { line } => format!("Richiesta ricevuta: {line}.\nTi confermiamo a breve."),
        Taken { what } => format!("{what} non è disponibile. Ecco gli orari liberi più vicini:"),
        NothingNear { what } => format!("{what} non è disponibile e non trovo posto nei giorni vicini. Vuoi provare un altro giorno?"),
        NoBookings => "Non trovo prenotazioni future in questa chat.".into(),
        PickBooking { change: super::ChangeKind::Cancel } => "Quale prenotazione vuoi annullare?".into(),
        PickBooking { change: super::ChangeKind::Reschedule } => "Quale prenotazione vuoi spostare?".into(),
        ConfirmCancel { line } => format!("Annullo questa prenotazione?\n{line}"),
        Cancelled { line } => format!("Prenotazione annullata: {line}.\nSperiamo di vederti presto!"),
        CancelRefused { too_late: true, tenant } => format!("È troppo tardi per annullare in chat: contatta {tenant}."),
        CancelRefused { too_late: false, tenant } => format!("Non riesco ad annullare questa prenotazione: contatta {tenant}."),
        KeepIt => "Va bene, la prenotazione resta com'è.".into(),
        AskNewTime { line } => format!("A quando vuoi spostare {line}? Scrivimi giorno e/o ora."),
        ConfirmMove { from, to } => format!("Sposto la prenotazione?\n{from} → {to}"),
        Moved { line } => format!("Fatto! Ora la prenotazione è: {line}"),
        StaffConfirmed { line } => format!("La tua prenotazione è confermata ✅\n{line}"),
        StaffRejected { line } => format!("Ci dispiace, non possiamo accettare la prenotazione {line}."),
        StaffCancelled { line } => format!("La tua prenotazione {line} è stata annullata dal locale."),
        StaffReason { reason } => format!("Motivo: {reason}"),
        HandOff => "Ti metto in contatto con lo staff: ti risponderà una persona appena possibile.".into(),
        HandOffMisunderstood => "Scusa, non riesco a capire. Ti passo allo staff, che ti risponderà appena possibile.".into(),
        NotUnderstood => "Scusa, non ho capito.".into(),
        Help { salon: false } => "Posso prenotare, spostare o annullare un tavolo, e dirti orari e indirizzo.".into(),
        Help { salon: true } => "Posso fissare, spostare o annullare un appuntamento, e dirti orari e indirizzo.".into(),
        OptedOut => "Ok, non riceverai più messaggi da noi. Scrivi START per riattivarli.".into(),
        OptedIn => "Bentornato! Riceverai di nuovo i nostri messaggi.".into(),
        Reminder { line, tenant } => format!("Promemoria da {tenant} ⏰\n{line}\nCi sarai? Conferma o annulla qui sotto."),
        AttendanceConfirmed { tenant } => format!("Grazie per la conferma! Ti aspettiamo da {tenant}."),
    }
}

fn english(msg: Msg<'_>) -> String {
    use Msg::*;
    match msg {
        Greeting { tenant, salon: false } => format!("Hi! I'm {tenant}'s assistant. I can book you a table: tell me the day, time and how many people."),
        Greeting { tenant, salon: true } => format!("Hi! I'm {tenant}'s assistant. I can book you an appointment: tell me the service, day and time."),
        BookingsClosed { tenant } => format!("Chat bookings are not open yet: please contact {tenant} directly."),
        Thanks => "Thank you! 😊".into(),
        Hours { hours } => format!("Our opening hours:\n{hours}"),
        Address { tenant, address } => format!("{tenant} is at {address}."),
        NoAddress { tenant } => format!("Sorry, I don't have {tenant}'s address here in the chat."),
        NoHours { tenant } => format!("Sorry, I don't have {tenant}'s opening hours here in the chat."),
        NoMenu => "Sorry, the menu is not available in the chat.".into(),
        AskDate => "For which day?".into(),
        AskTime { date, hours } => format!("What time on {date}? ({hours})"),
        AskParty => "For how many people?".into(),
        AskService => "Which service would you like?".into(),
        AskName => "What name should I book under?".into(),
        Summary { line } => format!("{line}\nShall I book it?"),
        WhatToChange => "What would you like to change? Tell me the day, time or number of people.".into(),
        Closed { date } => format!("We are closed on {date}."),
        NotBookableTime { date, hours } => format!("That time can't be booked on {date} (hours: {hours})."),
        TooSoon => "That time has passed or is too soon.".into(),
        TooFarAhead { days } => format!("Bookings open at most {days} days ahead."),
        PartyTooLarge { max } => format!("In the chat we book up to {max} people; for larger groups please contact us."),
        StaffDoesNotOffer { staff } => format!("{staff} doesn't do this service: I'll book whoever is free."),
        Dropped => "OK, I've dropped the booking.".into(),
        Confirmed { line, tenant } => format!("Booking confirmed ✅\n{line}\nSee you soon at {tenant}!"),
        AwaitingStaff { line } => format!("Request received: {line}.\nWe'll confirm shortly."),
        Taken { what } => format!("{what} is not available. Here are the nearest free times:"),
        NothingNear { what } => format!("{what} is not available and I can't find room on nearby days. Would you like to try another day?"),
        NoBookings => "I can't find any upcoming bookings in this chat.".into(),
        PickBooking { change: super::ChangeKind::Cancel } => "Which booking would you like to cancel?".into(),
        PickBooking { change: super::ChangeKind::Reschedule } => "Which booking would you like to move?".into(),
        ConfirmCancel { line } => format!("Cancel this booking?\n{line}"),
        Cancelled { line } => format!("Booking cancelled: {line}.\nHope to see you soon!"),
        CancelRefused { too_late: true, tenant } => format!("It's too late to cancel in the chat: please contact {tenant}."),
        CancelRefused { too_late: false, tenant } => format!("I can't cancel this booking: please contact {tenant}."),
        KeepIt => "OK, the booking stays as it is.".into(),
        AskNewTime { line } => format!("When would you like to move {line} to? Tell me the day and/or time."),
        ConfirmMove { from, to } => format!("Move the booking?\n{from} → {to}"),
        Moved { line } => format!("Done! Your booking is now: {line}"),
        StaffConfirmed { line } => format!("Your booking is confirmed ✅\n{line}"),
        StaffRejected { line } => format!("Sorry, we can't accept the booking {line}."),
        StaffCancelled { line } => format!("Your booking {line} has been cancelled by the venue."),
        StaffReason { reason } => format!("Reason: {reason}"),
        HandOff => "I'm passing you to our staff: a person will answer as soon as possible.".into(),
        HandOffMisunderstood => "Sorry, I can't understand. I'm passing you to our staff, who will answer as soon as possible.".into(),
        NotUnderstood => "Sorry, I didn't understand.".into(),
        Help { salon: false } => "I can book, move or cancel a table, and tell you our hours and address.".into(),
        Help { salon: true } => "I can book, move or cancel an appointment, and tell you our hours and address.".into(),
        OptedOut => "OK, you won't receive any more messages from us. Send START to turn them back on.".into(),
        OptedIn => "Welcome back! You'll receive our messages again.".into(),
        Reminder { line, tenant } => format!("A reminder from {tenant} ⏰\n{line}\nWill you be there? Confirm or cancel below."),
        AttendanceConfirmed { tenant } => format!("Thanks for confirming! See you at {tenant}."),
    }
}

fn spanish(msg: Msg<'_>) -> String {
    use Msg::*;
    match msg {
        Greeting { tenant, salon: false } => format!("¡Hola! Soy el asistente de {tenant}. Puedo reservarte una mesa: dime el día, la hora y cuántas personas."),
        Greeting { tenant, salon: true } => format!("¡Hola! Soy el asistente de {tenant}. Puedo darte una cita: dime el servicio, el día y la hora."),
        BookingsClosed { tenant } => format!("Las reservas por chat aún no están abiertas: contacta con {tenant} directamente."),
        Thanks => "¡Gracias a ti! 😊".into(),
        Hours { hours } => format!("Nuestro horario:\n{hours}"),
        Address { tenant, address } => format!("{tenant} está en {address}."),
        NoAddress { tenant } => format!("Lo siento, no tengo aquí la dirección de {tenant}."),
        NoHours { tenant } => format!("Lo siento, no tengo aquí el horario de {tenant}."),
        NoMenu => "Lo siento, la carta no está disponible en el chat.".into(),
        AskDate => "¿Para qué día?".into(),
        AskTime { date, hours } => format!("¿A qué hora, el {date}? ({hours})"),
        AskParty => "¿Para cuántas personas?".into(),
        AskService => "¿Qué servicio quieres?".into(),
        AskName => "¿A nombre de quién hago la reserva?".into(),
        Summary { line } => format!("{line}\n¿Lo confirmo?"),
        WhatToChange => "¿Qué quieres cambiar? Dime el día, la hora o el número de personas.".into(),
        Closed { date } => format!("El {date} está cerrado."),
        NotBookableTime { date, hours } => format!("El {date} no se puede reservar a esa hora (horario: {hours})."),
        TooSoon => "Esa hora ya pasó o es demasiado pronto.".into(),
        TooFarAhead { days } => format!("Se puede reservar como máximo con {days} días de antelación."),
        PartyTooLarge { max } => format!("Por chat reservamos hasta {max} personas; para grupos más grandes contáctanos."),
        StaffDoesNotOffer { staff } => format!("{staff} no hace este servicio: reservo con quien esté libre."),
        Dropped => "Vale, dejo la reserva.".into(),
        Confirmed { line, tenant } => format!("Reserva confirmada ✅\n{line}\n¡Hasta pronto en {tenant}!"),
        AwaitingStaff { line } => format!("Solicitud recibida: {line}.\nTe confirmamos en breve."),
        Taken { what } => format!("{what} no está disponible. Estas son las horas libres más cercanas:"),
        NothingNear { what } => format!("{what} no está disponible y no encuentro sitio en los días cercanos. ¿Quieres probar otro día?"),
        NoBookings => "No encuentro reservas próximas en este chat.".into(),
        PickBooking { change: super::ChangeKind::Cancel } => "¿Qué reserva quieres anular?".into(),
        PickBooking { change: super::ChangeKind::Reschedule } => "¿Qué reserva quieres cambiar?".into(),
        ConfirmCancel { line } => format!("¿Anulo esta reserva?\n{line}"),
        Cancelled { line } => format!("Reserva anulada: {line}.\n¡Esperamos verte pronto!"),
        CancelRefused { too_late: true, tenant } => format!("Ya es tarde para anular por chat: contacta con {tenant}."),
        CancelRefused { too_late: false, tenant } => format!("No puedo anular esta reserva: contacta con {tenant}."),
        KeepIt => "Vale, la reserva se queda como está.".into(),
        AskNewTime { line } => format!("¿A cuándo quieres cambiar {line}? Dime el día y/o la hora."),
        ConfirmMove { from, to } => format!("¿Cambio la reserva?\n{from} → {to}"),
        Moved { line } => format!("¡Hecho! Tu reserva ahora es: {line}"),
        StaffConfirmed { line } => format!("Tu reserva está confirmada ✅\n{line}"),
        StaffRejected { line } => format!("Lo sentimos, no podemos aceptar la reserva {line}."),
        StaffCancelled { line } => format!("Tu reserva {line} ha sido anulada por el local."),
        StaffReason { reason } => format!("Motivo: {reason}"),
        HandOff => "Te paso con nuestro equipo: una persona te responderá lo antes posible.".into(),
        HandOffMisunderstood => "Lo siento, no consigo entenderte. Te paso con nuestro equipo, que te responderá lo antes posible.".into(),
        NotUnderstood => "Lo siento, no lo he entendido.".into(),
        Help { salon: false } => "Puedo reservar, cambiar o anular una mesa, y darte el horario y la dirección.".into(),
        Help { salon: true } => "Puedo reservar, cambiar o anular una cita, y darte el horario y la dirección.".into(),
        OptedOut => "Vale, no recibirás más mensajes nuestros. Escribe START para volver a recibirlos.".into(),
        OptedIn => "¡Bienvenido de nuevo! Volverás a recibir nuestros mensajes.".into(),
        Reminder { line, tenant } => format!("Recordatorio de {tenant} ⏰\n{line}\n¿Vendrás? Confirma o anula aquí abajo."),
        AttendanceConfirmed { tenant } => format!("¡Gracias por confirmar! Te esperamos en {tenant}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{MAX_BUTTON_TITLE, MAX_LIST_BUTTON};

    #[test]
    fn every_label_fits_a_button() {
        use Label::*;
        for lang in Language::ALL {
            for l in [
                Confirm, Change, CancelIt, Keep, MoveIt, FreeTimes, Services, Bookings,
            ] {
                let n = label(lang, l).chars().count();
                assert!(n <= MAX_BUTTON_TITLE.min(MAX_LIST_BUTTON), "{lang:?} {l:?}");
            }
        }
    }
}
