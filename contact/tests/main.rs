//! The contact crate's one integration-test binary. Scenarios run on SQLite and, when
//! `RECOBRO_TEST_DATABASE_URL` is set, on PostgreSQL: templates and jobs rendering them,
//! e-mail against a real SMTP server (aiosmtpd) and SMS/WhatsApp against an HTTP
//! receiver the tests run, the letter channel against a real document service (local
//! store in a temporary directory), and the dialer export.

mod dialer;
mod email;
mod gate;
mod jobs;
mod letters;
mod pdf_check;
mod portfolio;
mod sms;
mod support;
mod template_jobs;
mod templates;

use support::on_both;

on_both!(
    letter_is_filed_and_batched_once,
    crate::letters::filed_and_batched_once
);
on_both!(
    generated_documents_race_once,
    crate::letters::generated_twins
);
