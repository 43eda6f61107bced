#![allow(clippy::unwrap_used)]

use super::*;
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

fn created() -> TenantEvent {
    TenantEvent::TenantCreated { profile: profile() }
}

#[test]
fn creating_a_tenant_records_its_profile() {
    Given::with(())
        .given_no_previous_events()
        .when(TenantCommand::Create(profile()))
        .then_expect_events(vec![created()]);
}

#[test]
fn creating_a_tenant_twice_is_rejected() {
    Given::with(())
        .given(vec![created()])
        .when(TenantCommand::Create(profile()))
        .then_expect_error(TenantError::AlreadyExists);
}

#[test]
fn an_unknown_time_zone_is_rejected() {
    let mut bad = profile();
    bad.time_zone = "Europe/Atlantis".into();
    Given::with(())
        .given_no_previous_events()
        .when(TenantCommand::Create(bad))
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
            .when(TenantCommand::Create(bad))
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
