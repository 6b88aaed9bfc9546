//! The committed SDL is the schema the server publishes.

#[test]
fn committed_schema_matches_the_server() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let sdl = graphql::schema::sdl();
    if std::env::var_os("RECOBRO_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &sdl).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == sdl,
        "graphql/schema.graphql is out of date: run \
         `RECOBRO_UPDATE_SCHEMA=1 cargo test -p graphql --test graphql sdl` and commit it"
    );
}
