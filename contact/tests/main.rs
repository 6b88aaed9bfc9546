mod email;
mod jobs;
mod sms;
mod support;
