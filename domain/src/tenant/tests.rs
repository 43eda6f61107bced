#![allow(clippy::unwrap_used)]

use super::*;
use crate::availability::{Capacity, Minutes, ServicePeriod, SettingsError, TableId};
use crate::reply::ReplyPurpose;
use crate::understanding::Language;
use cqrs_es::test::TestFramework;

type Given = TestFramework<Tenant>;

fn profile() -> TenantProfile {
    TenantProfile {
        name: "Trattoria da Gino".into(),
        time_zone: "Europe/Rome".into(),
        languages: vec![Language::It, Language::En],
        whatsapp: WhatsAppAccount {
            phone_number_ids: vec!["106540352242922".into()],
            display_phone_number: Some("+39 06 1234 5678".into()),
            business_account_id: Some("102290129340398".into()),
            access_token: None,
            app_secret: None,
        },
    }
}

fn create(profile: TenantProfile) -> TenantCommand {
    TenantCommand::Create {
        profile,
        booking: None,
        assistant: None,
    }
}

fn booking() -> BookingSettings {
    serde_json::from_value(serde_json::json!({
        "time_zone": "Europe/Rome",
        "weekly": {
            "tuesday": [{"name": "dinner", "from": "19:00", "to": "23:00"}],
            "saturday": [
                {"name": "lunch", "from": "12:00", "to": "15:00"},
                {"name": "dinner", "from": "19:00", "to": "23:30"}
            ]
        },
        "exceptions": [{"date": "2026-12-25", "hours": {"kind": "closed"}}],
        "granularity": 15,
        "lead": {"earliest": 60, "latest_days": 60},
        "capacity": {"kind": "restaurant", "seating": 90, "largest_party": 8, "max_covers": 40,
                     "tables": [{"id": "T1", "seats": 2}, {"id": "T2", "seats": 4}]}
    }))
    .unwrap()
}

fn booking_changed(booking: BookingSettings) -> TenantEvent {
    TenantEvent::TenantBookingSettingsChanged { booking }
}

fn created() -> TenantEvent {
    TenantEvent::TenantCreated { profile: profile() }
}

#[test]
fn creating_a_tenant_records_its_profile() {
    Given::with(())
        .given_no_previous_events()
        .when(create(profile()))
        .then_expect_events(vec![created()]);
}

#[test]
fn creating_a_tenant_twice_is_rejected() {
    Given::with(())
        .given(vec![created()])
        .when(create(profile()))
        .then_expect_error(TenantError::AlreadyExists);
}

#[test]
fn an_unknown_time_zone_is_rejected() {
    let mut bad = profile();
    bad.time_zone = "Europe/Atlantis".into();
    Given::with(())
        .given_no_previous_events()
        .when(create(bad))
        .then_expect_error(TenantError::UnknownTimeZone("Europe/Atlantis".into()));
}

#[test]
fn phone_number_ids_must_be_digits_and_distinct() {
    for ids in [
        vec![],
        vec!["12a".to_string()],
        vec!["1".into(), "1".into()],
    ] {
        let mut bad = profile();
        bad.whatsapp.phone_number_ids = ids;
        Given::with(())
            .given_no_previous_events()
            .when(create(bad))
            .then_expect_error(TenantError::InvalidPhoneNumberId);
    }
}

#[test]
fn updating_an_unknown_tenant_is_not_found() {
    Given::with(())
        .given_no_previous_events()
        .when(TenantCommand::Update(TenantPatch::default()))
        .then_expect_error(TenantError::NotFound);
}

#[test]
fn an_update_records_only_what_changed() {
    let patch = TenantPatch {
        name: Some("Trattoria da Gino".into()),
        time_zone: Some("Europe/Madrid".into()),
        phone_number_ids: Some(vec!["106540352242922".into(), "2000".into()]),
        ..TenantPatch::default()
    };
    Given::with(())
        .given(vec![created()])
        .when(TenantCommand::Update(patch))
        .then_expect_events(vec![
            TenantEvent::TenantProfileChanged {
                name: None,
                time_zone: Some("Europe/Madrid".into()),
                languages: None,
            },
            TenantEvent::TenantWhatsAppChanged {
                phone_number_ids: Some(vec!["106540352242922".into(), "2000".into()]),
                display_phone_number: None,
                business_account_id: None,
                access_token: None,
                app_secret: None,
            },
        ]);
}

#[test]
fn an_update_that_changes_nothing_records_nothing() {
    let patch = TenantPatch {
        name: Some("Trattoria da Gino".into()),
        languages: Some(vec![Language::It, Language::En]),
        ..TenantPatch::default()
    };
    Given::with(())
        .given(vec![created()])
        .when(TenantCommand::Update(patch))
        .then_expect_events(vec![]);
}

#[test]
fn a_replaced_secret_is_recorded_sealed_and_applied() {
    let token = SealedSecret {
        nonce: "n".into(),
        data: "d".into(),
    };
    let mut tenant = Tenant::default();
    tenant.apply(created());
    tenant.apply(TenantEvent::TenantWhatsAppChanged {
        phone_number_ids: None,
        display_phone_number: None,
        business_account_id: None,
        access_token: Some(token.clone()),
        app_secret: None,
    });
    let wa = &tenant.profile.unwrap().whatsapp;
    assert_eq!(wa.access_token, Some(token));
    assert_eq!(wa.display_phone_number.as_deref(), Some("+39 06 1234 5678"));
    assert!(!format!("{wa:?}").contains("\"d\""), "secrets never print");
}

#[test]
fn settings_given_at_creation_are_recorded_after_the_profile() {
    let patch = AssistantPatch {
        auto_confirm: Some(false),
        ..AssistantPatch::default()
    };
    Given::with(())
        .given_no_previous_events()
        .when(TenantCommand::Create {
            profile: profile(),
            booking: Some(booking()),
            assistant: Some(patch),
        })
        .then_expect_events(vec![
            created(),
            booking_changed(booking()),
            TenantEvent::TenantAssistantSettingsChanged {
                assistant: AssistantSettings {
                    auto_confirm: false,
                    ..AssistantSettings::default()
                },
            },
        ]);
}

#[test]
fn booking_settings_in_another_time_zone_than_the_tenant_are_rejected() {
    let mut madrid = booking();
    madrid.time_zone = "Europe/Madrid".into();
    Given::with(())
        .given_no_previous_events()
        .when(TenantCommand::Create {
            profile: profile(),
            booking: Some(madrid.clone()),
            assistant: None,
        })
        .then_expect_error(TenantError::BookingTimeZoneMismatch {
            booking: "Europe/Madrid".into(),
            tenant: "Europe/Rome".into(),
        });
    Given::with(())
        .given(vec![created()])
        .when(TenantCommand::Update(TenantPatch {
            booking: Some(madrid),
            ..TenantPatch::default()
        }))
        .then_expect_error(TenantError::BookingTimeZoneMismatch {
            booking: "Europe/Madrid".into(),
            tenant: "Europe/Rome".into(),
        });
}

#[test]
fn invalid_booking_settings_are_rejected_naming_the_field() {
    let mut twice = booking();
    if let Capacity::Restaurant(r) = &mut twice.capacity {
        r.tables.push(r.tables[0].clone());
    }
    let error = TenantError::InvalidBooking(SettingsError::DuplicateTable(TableId::new("T1")));
    assert_eq!(
        error.to_string(),
        "booking.capacity.tables: table T1 is listed twice"
    );
    Given::with(())
        .given(vec![created()])
        .when(TenantCommand::Update(TenantPatch {
            booking: Some(twice),
            ..TenantPatch::default()
        }))
        .then_expect_error(error);

    let mut overlapping = booking();
    overlapping.weekly.tuesday.push(ServicePeriod::new(
        "late",
        jiff::civil::time(22, 0, 0, 0),
        jiff::civil::time(23, 59, 0, 0),
    ));
    let message = booking::check(&overlapping, "Europe/Rome")
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("booking.weekly.tuesday: "), "{message}");
}

#[test]
fn changing_the_time_zone_moves_the_booking_settings_along() {
    let mut madrid = booking();
    madrid.time_zone = "Europe/Madrid".into();
    Given::with(())
        .given(vec![created(), booking_changed(booking())])
        .when(TenantCommand::Update(TenantPatch {
            time_zone: Some("Europe/Madrid".into()),
            ..TenantPatch::default()
        }))
        .then_expect_events(vec![
            TenantEvent::TenantProfileChanged {
                name: None,
                time_zone: Some("Europe/Madrid".into()),
                languages: None,
            },
            booking_changed(madrid.clone()),
        ]);
    // New settings in the same change carry the new zone.
    Given::with(())
        .given(vec![created(), booking_changed(booking())])
        .when(TenantCommand::Update(TenantPatch {
            time_zone: Some("Europe/Madrid".into()),
            booking: Some(booking()),
            ..TenantPatch::default()
        }))
        .then_expect_error(TenantError::BookingTimeZoneMismatch {
            booking: "Europe/Rome".into(),
            tenant: "Europe/Madrid".into(),
        });
}

#[test]
fn repeating_the_current_settings_records_nothing() {
    let assistant = AssistantSettings::default();
    Given::with(())
        .given(vec![created(), booking_changed(booking())])
        .when(TenantCommand::Update(TenantPatch {
            booking: Some(booking()),
            assistant: Some(AssistantPatch {
                auto_confirm: Some(true),
                address: Some(None),
                reminder_minutes_before: Some(vec![Minutes(120), Minutes(1440)]),
                templates: Some(Templates::default()),
            }),
            ..TenantPatch::default()
        }))
        .then_expect_events(vec![]);
    assert_eq!(
        assistant.reminder_minutes_before,
        [Minutes(1440), Minutes(120)]
    );
}

#[test]
fn an_assistant_change_replaces_only_the_given_fields() {
    let with_address = AssistantSettings {
        address: Some("Via Roma 1, Roma".into()),
        auto_confirm: false,
        ..AssistantSettings::default()
    };
    let set = TenantEvent::TenantAssistantSettingsChanged {
        assistant: with_address.clone(),
    };
    let patch: AssistantPatch =
        serde_json::from_str(r#"{"address": null, "reminder_minutes_before": [30]}"#).unwrap();
    Given::with(())
        .given(vec![created(), set])
        .when(TenantCommand::Update(TenantPatch {
            assistant: Some(patch),
            ..TenantPatch::default()
        }))
        .then_expect_events(vec![TenantEvent::TenantAssistantSettingsChanged {
            assistant: AssistantSettings {
                address: None,
                reminder_minutes_before: vec![Minutes(30)],
                ..with_address
            },
        }]);
}

#[test]
fn assistant_settings_break_rules_with_the_field_named() {
    let cases: Vec<(&str, &str)> = vec![
        (r#"{"address": " Via Roma"}"#, "assistant.address: "),
        (r#"{"address": ""}"#, "assistant.address: "),
        (
            r#"{"reminder_minutes_before": [0]}"#,
            "assistant.reminder_minutes_before: ",
        ),
        (
            r#"{"reminder_minutes_before": [60, 60]}"#,
            "assistant.reminder_minutes_before: ",
        ),
        (
            r#"{"reminder_minutes_before": [1, 2, 3, 4, 5, 6]}"#,
            "assistant.reminder_minutes_before: ",
        ),
        (
            r#"{"templates": {"reminder": {"it": {"name": "Promemoria!", "language_code": "it"}}}}"#,
            "assistant.templates.reminder.it.name: ",
        ),
        (
            r#"{"templates": {"booking_confirmed": {"en": {"name": "ok", "language_code": "english"}}}}"#,
            "assistant.templates.booking_confirmed.en.language_code: ",
        ),
    ];
    for (json, prefix) in cases {
        let patch: AssistantPatch = serde_json::from_str(json).unwrap();
        let mut tenant = Tenant::default();
        tenant.apply(created());
        let error = tenant
            .decide(TenantCommand::Update(TenantPatch {
                assistant: Some(patch),
                ..TenantPatch::default()
            }))
            .unwrap_err();
        assert!(error.to_string().starts_with(prefix), "{json}: {error}");
    }
    assert!(serde_json::from_str::<AssistantPatch>(r#"{"colour": "red"}"#).is_err());
}

#[test]
fn templates_are_found_by_purpose_and_language_and_serialize_sorted() {
    let json = r#"{"reminder":{"it":{"name":"promemoria","language_code":"it"},"en":{"name":"reminder","language_code":"en_US"}},"booking_confirmed":{"es":{"name":"confirmada","language_code":"es"}}}"#;
    let templates: Templates = serde_json::from_str(json).unwrap();
    assert_eq!(
        templates.get(ReplyPurpose::Reminder, Language::En),
        Some(&TemplateRef {
            name: "reminder".into(),
            language_code: "en_US".into()
        })
    );
    assert_eq!(templates.get(ReplyPurpose::Reminder, Language::Es), None);
    let sorted = r#"{"booking_confirmed":{"es":{"name":"confirmada","language_code":"es"}},"reminder":{"en":{"name":"reminder","language_code":"en_US"},"it":{"name":"promemoria","language_code":"it"}}}"#;
    assert_eq!(serde_json::to_string(&templates).unwrap(), sorted);
    assert_eq!(
        serde_json::from_str::<Templates>(sorted).unwrap(),
        templates
    );
}

#[test]
fn the_read_model_state_holds_no_secrets() {
    let mut tenant = Tenant::default();
    tenant.apply(created());
    tenant.apply(TenantEvent::TenantWhatsAppChanged {
        phone_number_ids: None,
        display_phone_number: None,
        business_account_id: None,
        access_token: Some(SealedSecret {
            nonce: "n".into(),
            data: "d".into(),
        }),
        app_secret: None,
    });
    tenant.apply(booking_changed(booking()));
    let stripped = tenant.clone().without_secrets();
    assert_eq!(
        stripped.profile.as_ref().unwrap().whatsapp.access_token,
        None
    );
    assert_eq!(stripped.booking, tenant.booking);
}
