//! What the contact tests share: a desk on a fresh database, real servers standing in
//! for providers, and messages.

mod desk;
pub mod http;
pub mod smtp;

pub(crate) use desk::*;

use collections::contact::Channel;
use contact::OutgoingMessage;

/// A message as the job handler hands it over, under idempotency key `key`.
pub fn message(key: &str, channel: Channel, to: &str) -> OutgoingMessage {
    OutgoingMessage {
        key: key.into(),
        tenant: "acme".into(),
        case_id: "case-1".into(),
        attempt: 3,
        channel,
        to: to.into(),
        envelope: Vec::new(),
        recipient_name: "Ana Pérez".into(),
        subject: (channel == Channel::Email).then(|| "Su saldo con Acme".to_string()),
        body: "Señora Pérez: su saldo es $ 1.250.000. Responda STOP para no recibir más mensajes."
            .into(),
        language: "es-CO".into(),
    }
}
