mod email;
mod sms;
mod support;
