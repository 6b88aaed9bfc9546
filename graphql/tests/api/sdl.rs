//! The committed SDL (`graphql/schema.graphql.snap`, an insta snapshot) is the schema
//! the server publishes. After a deliberate change to the schema:
//! `INSTA_UPDATE=always cargo test -p graphql --test graphql sdl`, review the diff, commit.

#[test]
fn committed_schema_matches_the_server() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(env!("CARGO_MANIFEST_DIR"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description("the GraphQL schema Recobro publishes (SDL)");
    settings.bind(|| insta::assert_snapshot!("schema.graphql", graphql::schema::sdl()));
}
