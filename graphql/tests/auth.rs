//! JWT and OAuth2 tests over real HTTP.
