//! The authorisation matrix: every role against every operation, over HTTP. The table
//! here is written from the specification, independently of the services' role table.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use services::access::Role;

use super::{PROCESS, World, on_both};

use Role::{Admin as A, Agent as G, Auditor as U, Partner as P, Supervisor as S};

/// What one operation needs set up before it runs.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Nothing,
    /// The case is placed with the caller's partner (always so for partner callers).
    Placed,
    /// The open task is claimed by the caller (or an admin when the caller may not).
    Claimed,
    /// Both tasks are done: the case waits for a payment message.
    AwaitingPayment,
    /// An account is open on the case.
    Account,
    /// An account is open and payment `P-setup` recorded on it.
    Paid,
    /// The case's debtor `$d` is registered with a phone (contact 0) whose SMS consent
    /// is consent 0, and a dispute flag.
    Debtor,
    /// An account is open, the case placed with the agency, which reported `R-setup`.
    Reported,
}

struct Op {
    name: &'static str,
    query: &'static str,
    allowed: &'static [Role],
    setup: Setup,
}

const fn op(name: &'static str, query: &'static str, allowed: &'static [Role]) -> Op {
    Op {
        name,
        query,
        allowed,
        setup: Setup::Nothing,
    }
}

const ALL: &[Role] = &[A, S, G, P, U];

fn ops() -> Vec<Op> {
    vec![
        op("me", "{ me { subject role } }", ALL),
        op(
            "processDefinitions",
            "{ processDefinitions { id } }",
            &[A, S, G, U],
        ),
        op(
            "deployProcess",
            "mutation($xml: String!) { deployProcess(name: \"x.bpmn\", xml: $xml) { created } }",
            &[A, S],
        ),
        op(
            "openCase",
            "mutation { openCase(input: {processId: \"collections-lite\"}) { caseId } }",
            &[A, S, G],
        ),
        op("case", "query($c: ID!) { case(id: $c) { id stage } }", ALL),
        op("cases", "{ cases { edges { node { id } } } }", ALL),
        op(
            "history",
            "query($c: ID!) { case(id: $c) { history { seq hash } } }",
            &[A, S, G, U],
        ),
        op(
            "historyCheck",
            "query($c: ID!) { case(id: $c) { historyCheck { valid } } }",
            &[A, S, U],
        ),
        op(
            "migrateCase",
            "mutation($c: ID!) { migrateCase(caseId: $c, processId: \"collections-lite\", version: 2) { seq } }",
            &[A, S],
        ),
        op(
            "cancelCase",
            "mutation($c: ID!) { cancelCase(caseId: $c) { seq } }",
            &[A, S],
        ),
        op(
            "assignCaseOwner",
            "mutation($c: ID!) { assignCaseOwner(caseId: $c, owner: \"alex\") { seq } }",
            &[A, S],
        ),
        Op {
            setup: Setup::AwaitingPayment,
            ..op(
                "correlateMessage",
                "mutation($c: ID!) { correlateMessage(name: \"payment-received\", caseId: $c) { seq } }",
                &[A, S, G, P],
            )
        },
        op(
            "queue",
            "{ queue(group: \"early-collectors\") { edges { node { id } } } }",
            &[A, S, G, U],
        ),
        op("myTasks", "{ myTasks { edges { node { id } } } }", ALL),
        // The agenda is what to work next: for those who work tasks.
        op("agenda", "{ agenda { score } }", &[A, S, G, P]),
        op("task", "query($t: ID!) { task(id: $t) { id } }", ALL),
        op(
            "claimTask",
            "mutation($t: ID!) { claimTask(taskId: $t) { seq } }",
            &[A, S, G, P],
        ),
        Op {
            setup: Setup::Claimed,
            ..op(
                "unclaimTask",
                "mutation($t: ID!) { unclaimTask(taskId: $t) { seq } }",
                &[A, S, G, P],
            )
        },
        op(
            "completeTask",
            "mutation($t: ID!) { completeTask(taskId: $t, variables: {ok: true}) { seq } }",
            &[A, S, G, P],
        ),
        op(
            "reassignTask",
            "mutation($t: ID!) { reassignTask(taskId: $t, user: \"alex\") { seq } }",
            &[A, S],
        ),
        op(
            "addComment",
            "mutation($c: ID!) { addComment(caseId: $c, text: \"called\") { seq } }",
            &[A, S, G, P],
        ),
        op(
            "recordActivity",
            "mutation($c: ID!) { recordActivity(caseId: $c, kind: \"call\", note: \"no answer\") { seq } }",
            &[A, S, G, P],
        ),
        op(
            "registerPartner",
            "mutation($n: String!) { registerPartner(name: $n, kind: AGENCY) { id } }",
            &[A, S],
        ),
        op("partners", "{ partners { id } }", ALL),
        op("documents", "query($c: ID!) { case(id: $c) { documents { id } } }", ALL),
        op(
            "requestDocumentUpload",
            "mutation($c: ID!) { requestDocumentUpload(caseId: $c, kind: OTHER, fileName: \"a.pdf\", size: 10,
                sha256: \"0000000000000000000000000000000000000000000000000000000000000000\") { uploadId } }",
            &[A, S, G, P],
        ),
        op("documentAccessLog", "{ documentAccessLog { actor } }", &[A, U]),
        op("verifyDocuments", "query($c: ID!) { verifyDocuments(caseId: $c) { ok } }", &[A, S, U]),
        op("apiClients", "{ apiClients { clientId } }", &[A]),
        op(
            "createApiClient",
            "mutation($p: ID!) { createApiClient(role: PARTNER, partnerId: $p) { clientSecret client { clientId } } }",
            &[A],
        ),
        op(
            "placeCase",
            "mutation($c: ID!, $p: ID!) { placeCase(caseId: $c, partnerId: $p) { seq } }",
            &[A, S],
        ),
        Op {
            setup: Setup::Placed,
            ..op(
                "recallCase",
                "mutation($c: ID!) { recallCase(caseId: $c, reason: \"no progress\") { seq } }",
                &[A, S],
            )
        },
        Op {
            setup: Setup::Placed,
            ..op(
                "acceptPlacement",
                "mutation($c: ID!) { acceptPlacement(caseId: $c) { seq } }",
                &[P],
            )
        },
        Op {
            setup: Setup::Placed,
            ..op(
                "returnPlacement",
                "mutation($c: ID!) { returnPlacement(caseId: $c, reason: \"debtor abroad\") { seq } }",
                &[P],
            )
        },
        op(
            "ledger",
            "query($c: ID!) { case(id: $c) { balance { amount } credit { amount } accounts { id } payments { reference } promises { id status } plans { id status } } }",
            ALL,
        ),
        op(
            "openAccount",
            "mutation($c: ID!) { openAccount(caseId: $c, input: {id: \"L-1\", product: \"loan\", currency: \"COP\", principal: \"1000\", delinquentSince: \"2026-01-01\"}) { seq } }",
            &[A, S],
        ),
        Op {
            setup: Setup::Account,
            ..op(
                "chargeAccount",
                "mutation($c: ID!) { chargeAccount(caseId: $c, accountId: \"L-1\", component: FEES, amount: \"50\", currency: \"COP\", reason: \"late fee\") { seq } }",
                &[A, S],
            )
        },
        Op {
            setup: Setup::Account,
            ..op(
                "recordPayment",
                "mutation($c: ID!) { recordPayment(caseId: $c, input: {reference: \"P-1\", amount: \"100\", currency: \"COP\"}) { seq } }",
                &[A, S, G, P],
            )
        },
        Op {
            setup: Setup::Account,
            ..op(
                "makePromise",
                "mutation($c: ID!) { makePromise(caseId: $c, currency: \"COP\", parts: [{due: \"2099-01-01\", amount: \"100\"}]) { seq } }",
                &[A, S, G, P],
            )
        },
        Op {
            setup: Setup::Account,
            ..op(
                "offerPlan",
                "mutation($c: ID!) { offerPlan(caseId: $c, input: {currency: \"COP\", total: \"300\", instalments: 3, frequency: MONTHLY, firstDue: \"2099-01-31\"}) { seq } }",
                &[A, S, G, P],
            )
        },
        Op {
            setup: Setup::Paid,
            ..op(
                "reversePayment",
                "mutation($c: ID!) { reversePayment(caseId: $c, reference: \"P-setup\", reason: \"returned\") { seq } }",
                &[A, S],
            )
        },
        op(
            "registerDebtor",
            "mutation($dn: String!) { registerDebtor(input: {id: $dn, kind: PERSON, name: \"Eva\", country: \"CO\"}) { debtor { id } } }",
            &[A, S, G],
        ),
        debtor_op("debtor", "query($d: ID!) { debtor(id: $d) { name contacts { id } activeFlags { flag } } }", ALL),
        debtor_op("debtorFlagHistory", "query($d: ID!) { debtor(id: $d) { flagHistory { reason } } }", &[A, S, G, U]),
        debtor_op("debtorFileHistory", "query($d: ID!) { debtor(id: $d) { fileHistory { verified } } }", &[A, S, G, U]),
        debtor_op("updateDebtor", "mutation($d: ID!) { updateDebtor(id: $d, input: {name: \"Eva M.\"}) { debtor { name } } }", &[A, S, G]),
        debtor_op("addDebtorContact", "mutation($d: ID!) { addDebtorContact(debtorId: $d, contact: {point: {email: \"eva@example.co\"}}) { contactId } }", &[A, S, G, P]),
        debtor_op("giveConsent", "mutation($d: ID!) { giveConsent(debtorId: $d, contactId: 0, consent: {channel: CALL, how: RECORDED_CALL, givenBy: \"debtor\"}) { consentId } }", &[A, S, G, P]),
        debtor_op("revokeConsent", "mutation($d: ID!) { revokeConsent(debtorId: $d, contactId: 0, consentId: 0) { debtor { id } } }", &[A, S, G, P]),
        debtor_op("setDebtorFlag", "mutation($d: ID!) { setDebtorFlag(debtorId: $d, flag: CEASE_COMMUNICATION, reason: \"letter\") { debtor { id } } }", &[A, S, G, P]),
        debtor_op("clearDebtorFlag", "mutation($d: ID!) { clearDebtorFlag(debtorId: $d, flag: DISPUTE, reason: \"verified\") { debtor { id } } }", &[A, S, G]),
        debtor_op("addRelatedParty", "mutation($d: ID!) { addRelatedParty(debtorId: $d, party: {relationship: GUARANTOR, kind: PERSON, name: \"Leo\"}) { partyIndex } }", &[A, S, G]),
        // Message templates: read inside the creditor, saved by supervisors.
        op(
            "contactTemplates",
            "{ contactTemplates { version } }",
            &[A, S, G, U],
        ),
        op(
            "saveContactTemplate",
            "mutation { saveContactTemplate(input: {creditor: \"bank\", channel: SMS, name: \"reminder-1\", language: \"es\", body: \"Hola {{ recipient.name }}. {{ opt_out }}\"}) { version } }",
            &[A, S],
        ),
        debtor_op("previewContactTemplate", "query($c: ID!) { previewContactTemplate(caseId: $c, channel: SMS) { body } }", &[A, S, G, U]),
        // Creditors' settings: least privilege, partners never read them.
        op("creditors", "{ creditors { id } }", &[A, S, G, U]),
        op(
            "creditor",
            "{ creditor(id: \"bank\") { id timeZone allocationOrder } }",
            &[A, S, G, U],
        ),
        op(
            "setCreditorSettings",
            "mutation { setCreditorSettings(creditorId: \"bank\", input: {promiseGraceDays: 4}) { id } }",
            &[A, S],
        ),
        Op {
            setup: Setup::Account,
            ..op(
                "reportPayment",
                "mutation($c: ID!) { reportPayment(caseId: $c, input: {reference: \"R-1\", amount: \"100\", currency: \"COP\"}) { seq } }",
                &[P],
            )
        },
        Op {
            setup: Setup::Reported,
            ..op(
                "reportedPayments",
                "query($c: ID!) { case(id: $c) { reportedPayments { reference status } } }",
                ALL,
            )
        },
        Op {
            setup: Setup::Reported,
            ..op(
                "confirmReportedPayment",
                "mutation($c: ID!) { confirmReportedPayment(caseId: $c, reference: \"R-setup\") { seq } }",
                &[A, S, G],
            )
        },
        Op {
            setup: Setup::Reported,
            ..op(
                "rejectReportedPayment",
                "mutation($c: ID!) { rejectReportedPayment(caseId: $c, reference: \"R-setup\", reason: \"not received\") { seq } }",
                &[A, S, G],
            )
        },
    ]
}

const fn debtor_op(name: &'static str, query: &'static str, allowed: &'static [Role]) -> Op {
    Op {
        setup: Setup::Debtor,
        ..op(name, query, allowed)
    }
}

fn open_task(case: &Value) -> String {
    case["openTasks"][0]["id"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

async fn complete(w: &World, task: &str) {
    w.h.ok(
        &w.admin,
        "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
        json!({"t": task}),
    )
    .await;
}

async fn matrix(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let v2 = PROCESS.replace("Collections (lite)", "Collections (lite v2)");
    h.ok(
        &w.supervisor,
        "mutation($xml: String!) { deployProcess(name: \"v2.bpmn\", xml: $xml) { created } }",
        json!({"xml": v2}),
    )
    .await;
    let roles = [
        (A, w.admin.clone()),
        (S, w.supervisor.clone()),
        (G, w.agent.clone()),
        (P, w.agency_token.clone()),
        (U, w.auditor.clone()),
    ];
    let mut checked = 0;
    for op in ops() {
        for (role, token) in &roles {
            // A fresh case per cell, so cells cannot disturb each other. Partners work the
            // partner task of a case placed with them; others the agent's first task.
            let case_id = w.open_case(&format!("{}-{role}", op.name), 500.0).await;
            let read = "query($c: ID!) { case(id: $c) { openTasks { id } } }";
            if *role == P || op.setup == Setup::AwaitingPayment {
                let first = open_task(&h.ok(&w.admin, read, json!({"c": case_id})).await["case"]);
                complete(&w, &first).await;
            }
            if *role == P || matches!(op.setup, Setup::Placed | Setup::Reported) {
                w.place(&case_id, &w.agency).await;
            }
            let mut task = open_task(&h.ok(&w.admin, read, json!({"c": case_id})).await["case"]);
            if op.setup == Setup::AwaitingPayment {
                complete(&w, &task).await;
                task = "none".into();
            }
            if matches!(op.setup, Setup::Account | Setup::Paid | Setup::Reported) {
                h.ok(
                    &w.admin,
                    "mutation($c: ID!) { openAccount(caseId: $c, input: {id: \"L-1\", product: \"loan\", currency: \"COP\", principal: \"1000\", delinquentSince: \"2026-01-01\"}) { seq } }",
                    json!({"c": case_id}),
                )
                .await;
            }
            if op.setup == Setup::Paid {
                h.ok(
                    &w.admin,
                    "mutation($c: ID!) { recordPayment(caseId: $c, input: {reference: \"P-setup\", amount: \"10\", currency: \"COP\"}) { seq } }",
                    json!({"c": case_id}),
                )
                .await;
            }
            let debtor = format!("D-{}-{role}", op.name);
            if op.setup == Setup::Debtor {
                h.ok(
                    &w.admin,
                    "mutation($d: String!) { registerDebtor(input: {id: $d, kind: PERSON, name: \"Eva\", country: \"CO\", contacts: [{point: {phone: {number: \"+57 310 1234567\"}}, consents: [{channel: SMS, how: WRITTEN, givenBy: \"debtor\"}]}]}) { debtor { id } } }",
                    json!({"d": debtor}),
                )
                .await;
                h.ok(
                    &w.admin,
                    "mutation($d: ID!) { setDebtorFlag(debtorId: $d, flag: DISPUTE, reason: \"says paid\") { debtor { id } } }",
                    json!({"d": debtor}),
                )
                .await;
            }
            if op.setup == Setup::Reported {
                h.ok(
                    &w.agency_token,
                    "mutation($c: ID!) { reportPayment(caseId: $c, input: {reference: \"R-setup\", amount: \"10\", currency: \"COP\"}) { seq } }",
                    json!({"c": case_id}),
                )
                .await;
            }
            if op.setup == Setup::Claimed {
                let claimer = if *role == U { &w.admin } else { token };
                h.ok(
                    claimer,
                    "mutation($t: ID!) { claimTask(taskId: $t) { seq } }",
                    json!({"t": task}),
                )
                .await;
            }
            let vars = json!({
                "c": case_id, "t": task, "p": w.agency, "xml": PROCESS, "n": format!("Agency {case_id}"),
                "d": debtor, "dn": format!("{debtor}-new"),
            });
            let (status, body) = h
                .post(Some(token), json!({"query": op.query, "variables": vars}))
                .await;
            assert_eq!(status, 200, "{} as {role}: {body}", op.name);
            let allowed = op.allowed.contains(role);
            if allowed {
                assert!(
                    body.get("errors").is_none(),
                    "{} as {role} must be allowed: {body}",
                    op.name
                );
            } else {
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], "FORBIDDEN",
                    "{} as {role} must be refused: {body}",
                    op.name
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ops().len() * 5);
    w.h.stop().await;
}

on_both!(every_role_against_every_operation, matrix);
