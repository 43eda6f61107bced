//! Booking settings as a client sends them: the JSON of `BookingSettings`, where `time_zone`
//! may be left out (the tenant's applies) and an unknown field anywhere is refused, so a typo
//! (`max_cover`) cannot silently drop a limit.

use lyo_domain::availability::BookingSettings;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct BookingInput {
    /// `time_zone` holds a placeholder when `zone_given` is false.
    settings: BookingSettings,
    zone_given: bool,
}

impl BookingInput {
    /// The settings, in the tenant's zone when the client left the zone out.
    pub fn into_settings(self, tenant_zone: &str) -> BookingSettings {
        let mut settings = self.settings;
        if !self.zone_given {
            settings.time_zone = tenant_zone.to_string();
        }
        settings
    }
}

impl<'de> Deserialize<'de> for BookingInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut object = Map::deserialize(deserializer)?;
        let zone_given = object.contains_key("time_zone");
        if !zone_given {
            object.insert("time_zone".into(), Value::String(String::new()));
        }
        let input = Value::Object(object);
        let settings: BookingSettings = serde_json::from_value(input.clone())
            .map_err(|error| D::Error::custom(format!("booking: {error}")))?;
        let known = serde_json::to_value(&settings).map_err(D::Error::custom)?;
        if let Some(path) = unknown_field(&input, &known, "booking") {
            return Err(D::Error::custom(format!("unknown field `{path}`")));
        }
        Ok(Self {
            settings,
            zone_given,
        })
    }
}

/// The first key of `input` that the settings read back (`known`) do not have.
fn unknown_field(input: &Value, known: &Value, path: &str) -> Option<String> {
    match (input, known) {
        (Value::Object(input), Value::Object(known)) => input.iter().find_map(|(key, value)| {
            let path = format!("{path}.{key}");
            match known.get(key) {
                None => Some(path),
                Some(known) => unknown_field(value, known, &path),
            }
        }),
        (Value::Array(input), Value::Array(known)) => input
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(i, (value, known))| unknown_field(value, known, &format!("{path}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn input() -> Value {
        json!({
            "weekly": {"monday": [{"name": "dinner", "from": "19:00", "to": "23:00"}]},
            "exceptions": [{"date": "2026-12-25", "hours": {"kind": "special", "periods": [
                {"name": "lunch", "from": "12:00", "to": "15:00"}]}}],
            "granularity": 30,
            "lead": {"earliest": 60, "latest_days": 30},
            "capacity": {"kind": "restaurant", "seating": 90, "largest_party": 6, "max_covers": 30}
        })
    }

    #[test]
    fn a_left_out_time_zone_is_the_tenants() {
        let parsed: BookingInput = serde_json::from_value(input()).unwrap();
        assert_eq!(parsed.into_settings("Europe/Rome").time_zone, "Europe/Rome");
        let mut given = input();
        given["time_zone"] = json!("Europe/Madrid");
        let parsed: BookingInput = serde_json::from_value(given).unwrap();
        assert_eq!(
            parsed.into_settings("Europe/Rome").time_zone,
            "Europe/Madrid"
        );
    }

    #[test]
    fn an_unknown_field_anywhere_is_refused_with_its_path() {
        let mut typo = input();
        typo["capacity"]["max_cover"] = json!(30);
        let error = serde_json::from_value::<BookingInput>(typo).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown field `booking.capacity.max_cover`"
        );
        let mut nested = input();
        nested["exceptions"][0]["hours"]["periods"][0]["until"] = json!("16:00");
        let error = serde_json::from_value::<BookingInput>(nested).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown field `booking.exceptions[0].hours.periods[0].until`"
        );
    }

    #[test]
    fn the_example_of_docs_api_md_is_valid() {
        let example = json!({
           "weekly": {"tuesday": [{"name": "dinner", "from": "19:00", "to": "23:00"}],
                      "saturday": [{"name": "lunch", "from": "12:00", "to": "15:00"},
                                   {"name": "dinner", "from": "19:00", "to": "01:00"}]},
           "exceptions": [{"date": "2026-12-25", "hours": {"kind": "closed"}},
                          {"date": "2026-12-31", "hours": {"kind": "special", "periods": [{"name": "gala", "from": "20:00", "to": "02:00"}]}}],
           "granularity": 15,
           "lead": {"earliest": 60, "latest_days": 60},
           "capacity": {"kind": "restaurant", "seating": 90, "largest_party": 8, "max_covers": 40,
                        "tables": [{"id": "T1", "seats": 2}, {"id": "T2", "seats": 4}],
                        "combinations": [{"tables": ["T1", "T2"]}]}
        });
        let parsed: BookingInput = serde_json::from_value(example).unwrap();
        parsed.into_settings("Europe/Rome").validate().unwrap();
    }

    #[test]
    fn a_wrong_shape_names_the_booking() {
        let mut broken = input();
        broken.as_object_mut().unwrap().remove("granularity");
        let error = serde_json::from_value::<BookingInput>(broken).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("booking: missing field `granularity`"),
            "{error}"
        );
    }
}
