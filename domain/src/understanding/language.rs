//! Language detection: it, en or es, from distinctive words and accents.
//!
//! Each word that belongs to exactly one language's marker list scores a point for it; accents
//! typical of one language (ñ, ¿, ¡, acute vowels for es; grave vowels for it) score too. The
//! highest score wins; ties and messages with no markers ("ok", "STOP", "👍") fall back to the
//! tenant's default language. The margin feeds the confidence.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::model::Language;
use super::text::Token;

/// Words typical of one language. A word listed under two languages scores for neither.
const IT: &str = "
    ciao vorrei volevo vorremmo tavolo domani dopodomani stasera oggi sera per alle all ore
    siamo saremo saremmo persone grazie grz buongiorno buonasera salve prenotare prenotazione
    prenoto prenotato sabato domenica lunedi martedi mercoledi giovedi venerdi pranzo nome di
    il che sono non nn anzi scusa scusate posto avete aprite siete dove orari indirizzo
    disdire annulla annullare spostare mezza meno quarto due quattro cinque sei sette otto
    nove dieci mezzogiorno coppia bambini adulti perfetto confermo va bene certo esatto voglio
    messaggi cancellami dicembre novembre gennaio ci ho possiamo posso pomeriggio mattina
    appuntamento taglio aiuto qualcuno e gli le della dell alla chiamo dmn ragazzi festeggiamo
    ma natale capodanno piatti prezzi ora via anche
";

const EN: &str = "
    hi hello hey hiya table for at tomorrow tmrw tonight today people ppl the of on we i can
    could would please pls plz book booking reservation reserve thanks thank thx yes yeah yep
    sunday monday tuesday wednesday thursday friday saturday dinner lunch half past quarter pm
    am noon two three four five six seven eight nine ten couple us name under is my you your
    do have what where when open cancel move change instead actually make it that this next
    party kids adults and with clock evening morning night tonite tmw sorry sure great perfect
    just any there will be appointment haircut help agent unsubscribe december november
    january s t re ll d nope cheers ty works sounds good see then speak talk someone free need
    get an th st nd rd
";

const ES: &str = "
    hola buenas buenos mesa para manana hoy noche tarde esta el los las somos seremos seriamos
    personas gracias grax por favor porfa xfa quisiera quiero queria kiero reservar reserva
    domingo lunes martes miercoles jueves viernes sabado que viene pasado comer cenar almuerzo
    comida nombre y media cuarto menos dos tres cuatro cinco seis siete ocho nueve diez doce
    mediodia pareja ninos adultos vale perfecto confirmo claro acuerdo tienen hay abren donde
    horario direccion cancelar anular cambiar mover vez mejor bueno cita corte ayuda alguien
    baja alta mensajes diciembre noviembre enero mnn pa sitio hueco podemos puedo tengo
    necesito vamos nos vemos hasta pero es muchas siento puede cuanto cuesta platos sin jajaja
    de al soy llamo navidad nochevieja nochebuena finde seria habria queremos hora precios
    bien muy
";

/// Short function words of all three languages that are not markers but are still not names.
const COMMON: &str = "
    a da in con with no si ok la una un le del tonight tomorrow stasera domani manana x pls
    thanks grazie gracias mi me lo uno carta o vs tel phone cell
";

/// Which languages list each marker word, by position in [`Language::ALL`].
static MARKERS: LazyLock<HashMap<&'static str, [bool; 3]>> = LazyLock::new(|| {
    let mut map: HashMap<&'static str, [bool; 3]> = HashMap::new();
    for (i, list) in [IT, EN, ES].into_iter().enumerate() {
        for w in list.split_whitespace() {
            map.entry(w).or_default()[i] = true;
        }
    }
    map
});

/// How sure the detector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Certainty {
    Forced,
    Clear,
    Narrow,
    Fallback,
}

pub(super) fn detect(
    text: &str,
    tokens: &[Token],
    default: Language,
    forced: Option<Language>,
) -> (Language, Certainty) {
    if let Some(lang) = forced {
        return (lang, Certainty::Forced);
    }
    let mut score = [0u32; 3];
    for t in tokens.iter().filter(|t| t.is_word()) {
        let Some(hits) = MARKERS.get(t.norm.as_str()).copied() else {
            continue;
        };
        if hits.iter().filter(|h| **h).count() == 1 {
            for (s, hit) in score.iter_mut().zip(hits) {
                *s += u32::from(hit);
            }
        }
    }
    for c in text.chars().take(2000) {
        match c {
            'ñ' | 'Ñ' | '¿' | '¡' | 'á' | 'í' | 'ó' | 'ú' => score[2] += 1,
            'à' | 'è' | 'ì' | 'ò' | 'ù' => score[0] += 1,
            _ => {}
        }
    }
    let best = score.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return (default, Certainty::Fallback);
    }
    let leaders: Vec<Language> = Language::ALL
        .into_iter()
        .zip(score)
        .filter(|(_, s)| *s == best)
        .map(|(l, _)| l)
        .collect();
    let lang = if leaders.contains(&default) || leaders.is_empty() {
        default
    } else {
        leaders[0]
    };
    if leaders.len() > 1 {
        return (lang, Certainty::Fallback);
    }
    let second = score
        .iter()
        .copied()
        .filter(|s| *s < best)
        .max()
        .unwrap_or(0);
    let certainty = if best - second >= 2 {
        Certainty::Clear
    } else {
        Certainty::Narrow
    };
    (lang, certainty)
}

/// Any word Lyo knows in any language, plus short function words: not a name.
pub(super) fn is_common(w: &str) -> bool {
    MARKERS.contains_key(w) || COMMON.split_whitespace().any(|c| c == w)
}
