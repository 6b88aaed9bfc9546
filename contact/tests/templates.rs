//! Saving, versioning, listing and resolving templates on a real database; what a save
//! refuses and that a refusal writes nothing.

use chrono::{Duration, TimeZone, Utc};
use collections::contact::{Channel, TemplateUse};
use collections::template::TemplateError;
use contact::{ContactError, NewTemplate, TemplateFilter, Templates};
use sea_orm::DatabaseConnection;
use services::access::{Principal, Role};
use services::error_code::ApiError;

use crate::support::{TENANT, on_both, principal};

const SMS_ES: &str = "Hola {{ recipient.name }}, debe {{ balance }}. {{ opt_out }}";

fn sms(creditor: &str, language: &str, body: &str) -> NewTemplate {
    NewTemplate {
        creditor: creditor.into(),
        channel: Channel::Sms,
        name: "reminder-1".into(),
        language: language.into(),
        subject: None,
        body: body.into(),
    }
}

async fn store(db: &DatabaseConnection) -> Templates {
    orm::migrate(db).await.expect("migrate");
    Templates::new(db.clone())
}

fn at(minutes: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

async fn each_save_adds_an_immutable_version(db: &DatabaseConnection) {
    let t = store(db).await;
    let sam = principal(Role::Supervisor);
    let v1 = t
        .save(&sam, sms(" bank ", "ES_co", SMS_ES), at(0))
        .await
        .unwrap();
    assert_eq!(
        (v1.creditor.as_str(), v1.language.as_str(), v1.version),
        ("bank", "es-CO", 1)
    );
    assert_eq!(v1.created, Some((at(0), "supervisor:supervisor".into())));
    let v2 = t
        .save(
            &sam,
            sms("bank", "es-CO", &format!("Segundo: {SMS_ES}")),
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    // Another language, channel or creditor counts its own versions.
    assert_eq!(
        t.save(
            &sam,
            sms("bank", "en", "Hi {{ recipient.name }}. {{ opt_out }}"),
            at(2)
        )
        .await
        .unwrap()
        .version,
        1
    );
    assert_eq!(
        t.save(&sam, sms("shop", "es-CO", SMS_ES), at(3))
            .await
            .unwrap()
            .version,
        1
    );

    // Newest version first, per creditor, channel, name and language.
    let listed = t
        .list(
            &principal(Role::Auditor),
            TemplateFilter {
                creditor: Some("bank".into()),
                ..TemplateFilter::default()
            },
        )
        .await
        .unwrap();
    let keys: Vec<(String, u32)> = listed
        .iter()
        .map(|t| (t.language.clone(), t.version))
        .collect();
    assert_eq!(
        keys,
        [("en".into(), 1), ("es-CO".into(), 2), ("es-CO".into(), 1)]
    );
    // The first version is still there, word for word: attempts that recorded it can
    // render it again.
    let used = TemplateUse {
        name: "reminder-1".into(),
        language: "es-CO".into(),
        version: 1,
    };
    let again = t
        .version(TENANT, "bank", Channel::Sms, &used)
        .await
        .unwrap();
    assert_eq!(again.body, SMS_ES);
    assert_eq!(again.version, 1);
    let missing = TemplateUse {
        version: 9,
        ..used.clone()
    };
    let err = t
        .version(TENANT, "bank", Channel::Sms, &missing)
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "TEMPLATE_NOT_FOUND");

    // Filters, and another tenant sees none of it.
    let shop_only = t
        .list(
            &principal(Role::Agent),
            TemplateFilter {
                creditor: Some("shop".into()),
                channel: Some(Channel::Sms),
                name: Some("reminder-1".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(shop_only.len(), 1);
    assert!(
        t.list(
            &principal(Role::Agent),
            TemplateFilter {
                channel: Some(Channel::Email),
                ..TemplateFilter::default()
            }
        )
        .await
        .unwrap()
        .is_empty()
    );
    let other = Principal::new("x", "other-tenant", Role::Admin, None, vec![]).unwrap();
    assert!(
        t.list(&other, TemplateFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}
on_both!(versions, each_save_adds_an_immutable_version);

async fn saving_refuses_what_a_message_could_not_send(db: &DatabaseConnection) {
    let t = store(db).await;
    let sam = principal(Role::Supervisor);
    let refused = |e: ContactError| (e.code().as_str().to_string(), e.to_string());
    let cases: Vec<(NewTemplate, &str, &str)> = vec![
        (
            sms(
                "bank",
                "es",
                "Hola {{ recipient.name }}, debe {{ balance }}.",
            ),
            "INVALID_TEMPLATE",
            "opt_out",
        ),
        (
            sms("bank", "es", "Hola {{ recipient.nmae }}. {{ opt_out }}"),
            "INVALID_TEMPLATE",
            "recipient.nmae",
        ),
        (
            sms("bank", "es", "Hola {{ recipient.name . {{ opt_out }}"),
            "INVALID_TEMPLATE",
            "does not parse",
        ),
        (
            NewTemplate {
                channel: Channel::Email,
                ..sms("bank", "es", SMS_ES)
            },
            "BAD_INPUT",
            "subject",
        ),
        (
            NewTemplate {
                subject: Some("Aviso".into()),
                ..sms("bank", "es", SMS_ES)
            },
            "BAD_INPUT",
            "no subject",
        ),
        (
            NewTemplate {
                channel: Channel::Email,
                subject: Some("Saldo de {{ case.referencia }}".into()),
                ..sms("bank", "es", SMS_ES)
            },
            "INVALID_TEMPLATE",
            "case.referencia",
        ),
        (sms("bank", "español", SMS_ES), "INVALID_LANGUAGE", ""),
        (
            NewTemplate {
                name: "recordatorio 1".into(),
                ..sms("bank", "es", SMS_ES)
            },
            "BAD_INPUT",
            "template name",
        ),
        (sms("bank", "es", "  "), "BAD_INPUT", "empty"),
        (sms(" ", "es", SMS_ES), "BAD_INPUT", ""),
    ];
    for (new, code, says) in cases {
        let what = format!("{new:?}");
        let (got, message) = refused(t.save(&sam, new, at(0)).await.unwrap_err());
        assert_eq!(got, code, "{what}: {message}");
        assert!(message.contains(says), "{what}: {message}");
    }
    // The variable the template lacks is named in the error itself.
    match t
        .save(
            &sam,
            sms("bank", "es", "{{ deudor.nombre }} {{ opt_out }}"),
            at(0),
        )
        .await
    {
        Err(ContactError::Template(TemplateError::Undefined { variable })) => {
            assert_eq!(variable, "deudor.nombre")
        }
        other => panic!("{other:?}"),
    }
    // Letters and calls need no opt-out text; process variables are accepted by name.
    let letter = NewTemplate {
        channel: Channel::Letter,
        name: "demand-letter".into(),
        subject: Some("Requerimiento {{ case.reference }}".into()),
        body: "{{ recipient.address }}\nPréstamo {{ vars.loanId }}: {{ balance }}".into(),
        ..sms("bank", "es", "")
    };
    assert_eq!(t.save(&sam, letter, at(0)).await.unwrap().version, 1);

    // Agents and auditors read templates; only supervisors and admins save them.
    for role in [Role::Agent, Role::Auditor, Role::Partner, Role::Worker] {
        let p = if role == Role::Partner {
            Principal::new("p", TENANT, role, Some("agency".into()), vec![]).unwrap()
        } else {
            principal(role)
        };
        let err = t
            .save(&p, sms("bank", "es", SMS_ES), at(0))
            .await
            .unwrap_err();
        assert_eq!(err.code().as_str(), "FORBIDDEN", "{role}");
    }
    for role in [Role::Partner, Role::Worker] {
        let p = if role == Role::Partner {
            Principal::new("p", TENANT, role, Some("agency".into()), vec![]).unwrap()
        } else {
            principal(role)
        };
        let err = t.list(&p, TemplateFilter::default()).await.unwrap_err();
        assert_eq!(err.code().as_str(), "FORBIDDEN", "{role}");
    }
    // Nothing refused was written.
    let all = t
        .list(&principal(Role::Admin), TemplateFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].channel, Channel::Letter);
}
on_both!(refusals, saving_refuses_what_a_message_could_not_send);

async fn resolution_follows_the_debtors_languages_then_the_creditors_own(db: &DatabaseConnection) {
    let t = store(db).await;
    let sam = principal(Role::Supervisor);
    let resolve = |languages: &'static [&'static str], creditor: &'static str| {
        let t = t.clone();
        async move {
            let found = t
                .resolve(TENANT, creditor, Channel::Sms, "reminder-1", languages)
                .await
                .unwrap();
            (found.language, found.version)
        }
    };
    // Nothing saved: the built-in template, in the debtor's base language.
    assert_eq!(resolve(&["es-CO"], "bank").await, ("es".into(), 0));
    assert_eq!(resolve(&["en-US"], "bank").await, ("en".into(), 0));
    assert_eq!(resolve(&["pt-BR"], "bank").await, ("es".into(), 0));
    let err = t
        .resolve(TENANT, "bank", Channel::Sms, "no-such", &["es"])
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "TEMPLATE_NOT_FOUND");

    // The creditor's own English text beats the built-in Spanish one for a Colombian
    // debtor: the creditor's wording was reviewed, the built-in is a placeholder.
    t.save(&sam, sms("bank", "en", "Hi. {{ opt_out }}"), at(0))
        .await
        .unwrap();
    assert_eq!(resolve(&["es-CO"], "bank").await, ("en".into(), 1));
    // Its Spanish one beats its English one; the newest version wins.
    t.save(&sam, sms("bank", "es", SMS_ES), at(1))
        .await
        .unwrap();
    t.save(&sam, sms("bank", "es", &format!("v2 {SMS_ES}")), at(2))
        .await
        .unwrap();
    assert_eq!(resolve(&["es-CO"], "bank").await, ("es".into(), 2));
    // The exact tag beats its base language.
    t.save(&sam, sms("bank", "es-CO", SMS_ES), at(3))
        .await
        .unwrap();
    assert_eq!(resolve(&["es-CO"], "bank").await, ("es-CO".into(), 1));
    assert_eq!(resolve(&["es-MX"], "bank").await, ("es".into(), 2));
    assert_eq!(resolve(&["en-GB", "es"], "bank").await, ("en".into(), 1));
    // Another creditor's templates are not this creditor's.
    assert_eq!(resolve(&["es-CO"], "shop").await, ("es".into(), 0));
    // A built-in version is found again by its recorded use.
    let builtin = TemplateUse {
        name: "reminder-1".into(),
        language: "es".into(),
        version: 0,
    };
    let again = t
        .version(TENANT, "shop", Channel::Sms, &builtin)
        .await
        .unwrap();
    assert_eq!((again.version, again.created), (0, None));
}
on_both!(
    resolution,
    resolution_follows_the_debtors_languages_then_the_creditors_own
);
