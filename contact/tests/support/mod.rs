//! What the contact tests share: real servers standing in for providers, and messages.

pub mod http;
pub mod smtp;

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
        recipient_name: "Ana Pérez".into(),
        subject: (channel == Channel::Email).then(|| "Su saldo con Acme".to_string()),
        body: "Señora Pérez: su saldo es $ 1.250.000. Responda STOP para no recibir más mensajes."
            .into(),
        language: "es-CO".into(),
    }
}
