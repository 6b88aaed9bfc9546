//! JWT and OAuth2 tests over real HTTP (actix-web on 127.0.0.1:0, reqwest client), on a
//! virtual clock: time moves by `clock.advance`, never by sleeping.

mod support;

mod attacks;
mod client_credentials;
mod external;
mod jwks;
