//! Introspection for GraphQL tooling, limited by the size of its answer.
//!
//! Why: the standard introspection query (graphql-js's `getIntrospectionQuery()`, sent
//! by GraphiQL, Apollo, graphql-codegen, Postman) nests `ofType` nine levels deep in
//! its `TypeRef` fragment: 15 levels in all, above the depth limit (12) that protects
//! ordinary queries. So a request whose every operation selects only introspection root
//! fields (`__schema`, `__type`, `__typename`) runs on a second instance of the schema
//! that answers introspection only and allows [`DEPTH`] levels.
//!
//! Depth alone does not bound introspection: its types are recursive
//! (`types { fields { type { fields { ... } } } }`) and aliases repeat any part, so an
//! answer could grow exponentially within 20 levels. Such an operation is priced before
//! it runs by [`estimate`], an upper bound on the number of values in its answer: every
//! selected field counts once per object it is selected on, and a list field multiplies
//! the objects below it by the list's size in this schema (counted once when the
//! schema is built, by running a small introspection query on it). Above [`cap`]
//! ([`CAP_MULTIPLE`] times the estimate for graphql-js's standard query with every
//! option on) the request is refused with `QUERY_TOO_COMPLEX`, so the cap follows the
//! schema as it grows.

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Request, Response, Schema, ServerError};
use futures_util::FutureExt;

use crate::errors::ErrorCode;
use crate::schema::{Limits, Mutation, Query, RecobroSchema, Subscription};

/// Depth allowed to introspection-only operations: graphql-js 16's standard query
/// needs 15 (`__schema types fields args type` and nine `ofType`), with room for tools
/// that nest `ofType` deeper.
pub const DEPTH: usize = 20;

/// The cap is this many times the estimate for the standard query ([`REFERENCE`]).
pub const CAP_MULTIPLE: u64 = 4;

/// Deepest nesting (fields and fragment spreads) [`estimate`] follows; deeper is refused
/// (the depth limit would refuse it anyway, and this bounds the walk's recursion).
const MAX_NESTING: usize = 64;

/// graphql-js 16.x `getIntrospectionQuery({ descriptions: true, specifiedByUrl: true,
/// directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true })`:
/// the largest standard introspection query, the yardstick for the cap.
pub const REFERENCE: &str = r#"
    query IntrospectionQuery {
      __schema {
        description
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          isRepeatable
          locations
          args(includeDeprecated: true) {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      specifiedByURL
      fields(includeDeprecated: true) {
        name
        description
        args(includeDeprecated: true) {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields(includeDeprecated: true) {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      isDeprecated
      deprecationReason
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType { name kind ofType { name kind ofType { name kind ofType { name kind
        ofType { name kind ofType { name kind ofType { name kind ofType { name kind
          ofType { name kind } } } } } } } } }
    }
"#;

/// The internal query that measures the lists introspection can answer.
const MEASURE: &str = r#"{ __schema {
    types {
      fields(includeDeprecated: true) { args(includeDeprecated: true) { name } }
      inputFields(includeDeprecated: true) { name }
      interfaces { name }
      possibleTypes { name }
      enumValues(includeDeprecated: true) { name }
    }
    directives { locations args(includeDeprecated: true) { name } }
} }"#;

/// One list of the introspection schema: its largest instance, and the sum over all
/// instances when it is selected on every type (or every field, every directive).
#[derive(Debug, Clone, Copy, Default)]
struct List {
    max: u64,
    total: u64,
}

impl List {
    fn add(&mut self, n: usize) {
        let n = n as u64;
        self.max = self.max.max(n);
        self.total += n;
    }
}

/// The sizes of this schema's introspection lists. Each is at least 1, so every field
/// the estimate visits adds to the cost and the walk stops soon after the cap.
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    types: u64,
    directives: u64,
    fields: List,
    /// Arguments of fields (`total`: of all fields of all types).
    field_args: List,
    /// Arguments of directives (`total`: of all directives).
    directive_args: List,
    input_fields: List,
    interfaces: List,
    possible_types: List,
    enum_values: List,
    locations: List,
}

impl Sizes {
    fn measure(schema: &RecobroSchema) -> Sizes {
        // Introspection resolves without waiting on anything, so one poll completes it.
        let response = schema
            .execute(MEASURE)
            .now_or_never()
            .expect("introspection completes in one poll");
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let data = response
            .data
            .into_json()
            .expect("introspection answers JSON");
        let len = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len);
        let mut s = Sizes::default();
        let none = Vec::new();
        let types = data["__schema"]["types"].as_array().unwrap_or(&none);
        s.types = types.len() as u64;
        for t in types {
            s.fields.add(len(&t["fields"]));
            for f in t["fields"].as_array().into_iter().flatten() {
                s.field_args.add(len(&f["args"]));
            }
            s.input_fields.add(len(&t["inputFields"]));
            s.interfaces.add(len(&t["interfaces"]));
            s.possible_types.add(len(&t["possibleTypes"]));
            s.enum_values.add(len(&t["enumValues"]));
        }
        let directives = data["__schema"]["directives"].as_array().unwrap_or(&none);
        s.directives = directives.len() as u64;
        for d in directives {
            s.directive_args.add(len(&d["args"]));
            s.locations.add(len(&d["locations"]));
        }
        for l in [
            &mut s.fields,
            &mut s.field_args,
            &mut s.directive_args,
            &mut s.input_fields,
            &mut s.interfaces,
            &mut s.possible_types,
            &mut s.enum_values,
            &mut s.locations,
        ] {
            l.max = l.max.max(1);
            l.total = l.total.max(1);
        }
        s.types = s.types.max(1);
        s.directives = s.directives.max(1);
        s
    }
}

/// What the objects a selection set applies to are: "every type" (below
/// `__schema.types`) lets a nested list count its total rather than count × largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Root,
    Schema,
    AllTypes,
    AllFields,
    AllDirectives,
    /// Anything else: `count` objects, each with lists at most the largest size.
    Other,
}

/// Where an estimate stands: `count` objects of kind `set`.
#[derive(Debug, Clone, Copy)]
struct At {
    set: Set,
    count: u64,
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    sizes: &'a Sizes,
    cost: u64,
    stop_above: u64,
    too_deep: bool,
}

impl Walk<'_> {
    fn over(&self) -> bool {
        self.too_deep || self.cost > self.stop_above
    }

    fn selection_set(&mut self, set: &SelectionSet, at: At, nesting: usize) {
        if nesting > MAX_NESTING {
            self.too_deep = true;
            return;
        }
        for item in &set.items {
            if self.over() {
                return;
            }
            match &item.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    let (list, next) = self.step(at, name);
                    // The field's value on each object, and each element of a list.
                    self.cost = self.cost.saturating_add(at.count).saturating_add(if list {
                        next.count
                    } else {
                        0
                    });
                    self.selection_set(&f.node.selection_set.node, next, nesting + 1);
                }
                Selection::FragmentSpread(s) => {
                    // An unknown fragment fails validation later; it costs nothing here.
                    if let Some(fragment) = self.doc.fragments.get(&s.node.fragment_name.node) {
                        self.selection_set(&fragment.node.selection_set.node, at, nesting + 1);
                    }
                }
                Selection::InlineFragment(i) => {
                    self.selection_set(&i.node.selection_set.node, at, nesting + 1);
                }
            }
        }
    }

    /// The objects below field `name` selected on `at`, and whether it is a list.
    fn step(&self, at: At, name: &str) -> (bool, At) {
        let s = self.sizes;
        // `at.count` is a whole number of `at.set`s: `Root` and `Schema` are one object
        // per root field, and the `All*` sets are reached only from them.
        let sets = at.count
            / match at.set {
                Set::AllTypes => s.types,
                Set::AllFields => s.fields.total,
                Set::AllDirectives => s.directives,
                Set::Root | Set::Schema | Set::Other => 1,
            };
        let every = |set, total: u64| At {
            set,
            count: sets.saturating_mul(total),
        };
        let each = |list: List| At {
            set: Set::Other,
            count: at.count.saturating_mul(list.max),
        };
        let one = At {
            set: Set::Other,
            count: at.count,
        };
        let next = match (at.set, name) {
            (Set::Root, "__schema") => At {
                set: Set::Schema,
                count: at.count,
            },
            (Set::Schema, "types") => every(Set::AllTypes, s.types),
            (Set::Schema, "directives") => every(Set::AllDirectives, s.directives),
            (Set::AllTypes, "fields") => every(Set::AllFields, s.fields.total),
            (Set::AllTypes, "inputFields") => every(Set::Other, s.input_fields.total),
            (Set::AllTypes, "interfaces") => every(Set::Other, s.interfaces.total),
            (Set::AllTypes, "possibleTypes") => every(Set::Other, s.possible_types.total),
            (Set::AllTypes, "enumValues") => every(Set::Other, s.enum_values.total),
            (Set::AllFields, "args") => every(Set::Other, s.field_args.total),
            (Set::AllDirectives, "args") => every(Set::Other, s.directive_args.total),
            (Set::AllDirectives, "locations") => every(Set::Other, s.locations.total),
            (_, "types") => At {
                set: Set::Other,
                count: at.count.saturating_mul(s.types),
            },
            (_, "directives") => At {
                set: Set::Other,
                count: at.count.saturating_mul(s.directives),
            },
            (_, "fields") => each(s.fields),
            (_, "args") => each(List {
                max: s.field_args.max.max(s.directive_args.max),
                total: 0,
            }),
            (_, "inputFields") => each(s.input_fields),
            (_, "interfaces") => each(s.interfaces),
            (_, "possibleTypes") => each(s.possible_types),
            (_, "enumValues") => each(s.enum_values),
            (_, "locations") => each(s.locations),
            _ => return (false, one),
        };
        (true, next)
    }
}

/// An upper bound on the number of values in the answer to `doc`'s operations (all of
/// them, each priced on its own and summed), or `None` when the document nests deeper
/// than [`MAX_NESTING`]. Stops counting once above `stop_above`.
fn estimate(doc: &ExecutableDocument, sizes: &Sizes, stop_above: u64) -> Option<u64> {
    let mut walk = Walk {
        doc,
        sizes,
        cost: 0,
        stop_above,
        too_deep: false,
    };
    for (_, op) in doc.operations.iter() {
        let root = At {
            set: Set::Root,
            count: 1,
        };
        walk.selection_set(&op.node.selection_set.node, root, 0);
        if walk.over() {
            break;
        }
    }
    (!walk.too_deep).then_some(walk.cost)
}

/// Whether every operation of `doc` is a query selecting only introspection root fields
/// (also through fragments and inline fragments).
pub fn is_introspection_only(doc: &ExecutableDocument) -> bool {
    fn root_only(doc: &ExecutableDocument, set: &SelectionSet, nesting: usize) -> bool {
        nesting <= MAX_NESTING
            && set.items.iter().all(|item| match &item.node {
                Selection::Field(f) => {
                    matches!(
                        f.node.name.node.as_str(),
                        "__schema" | "__type" | "__typename"
                    )
                }
                Selection::FragmentSpread(s) => doc
                    .fragments
                    .get(&s.node.fragment_name.node)
                    .is_some_and(|f| root_only(doc, &f.node.selection_set.node, nesting + 1)),
                Selection::InlineFragment(i) => {
                    root_only(doc, &i.node.selection_set.node, nesting + 1)
                }
            })
    }
    let mut any = false;
    for (_, op) in doc.operations.iter() {
        any = true;
        if op.node.ty != OperationType::Query || !root_only(doc, &op.node.selection_set.node, 0) {
            return false;
        }
    }
    any
}

/// The introspection-only schema and its size cap.
pub struct Introspection {
    schema: RecobroSchema,
    sizes: Sizes,
    cap: u64,
    reference_cost: u64,
}

/// Which schema a request goes to.
pub enum Route {
    /// An ordinary request: the schema with the ordinary limits.
    Ordinary(Request),
    /// Introspection only, within the cap.
    Introspection(Request),
    /// Introspection above the cap: the answer, with `QUERY_TOO_COMPLEX`.
    Refused(Response),
}

impl Introspection {
    pub fn new(limits: &Limits) -> Introspection {
        let schema = Schema::build(Query::default(), Mutation::default(), Subscription)
            .introspection_only()
            .limit_depth(DEPTH)
            .limit_complexity(limits.complexity)
            .limit_recursive_depth(32)
            .limit_directives(20)
            .finish();
        let sizes = Sizes::measure(&schema);
        let reference = async_graphql::parser::parse_query(REFERENCE).expect("REFERENCE parses");
        let reference_cost =
            estimate(&reference, &sizes, u64::MAX).expect("REFERENCE is not too deep");
        Introspection {
            schema,
            sizes,
            cap: reference_cost.saturating_mul(CAP_MULTIPLE),
            reference_cost,
        }
    }

    /// The most values an introspection-only operation may answer.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// The estimate for graphql-js's standard query with every option on.
    pub fn reference_cost(&self) -> u64 {
        self.reference_cost
    }

    /// The estimate for a query; `None` when it does not parse or nests too deep.
    pub fn estimate(&self, query: &str) -> Option<u64> {
        let doc = async_graphql::parser::parse_query(query).ok()?;
        estimate(&doc, &self.sizes, u64::MAX)
    }

    pub fn route(&self, mut request: Request) -> Route {
        let Ok(doc) = request.parsed_query() else {
            // The ordinary schema reports the parse error.
            return Route::Ordinary(request);
        };
        if !is_introspection_only(doc) {
            return Route::Ordinary(request);
        }
        match estimate(doc, &self.sizes, self.cap) {
            Some(cost) if cost <= self.cap => Route::Introspection(request.only_introspection()),
            cost => {
                let message = match cost {
                    Some(_) => format!(
                        "Query is too complex: this introspection query could answer more \
                         than {} values (the limit is {} times graphql-js's standard \
                         introspection query)",
                        self.cap, CAP_MULTIPLE
                    ),
                    None => format!(
                        "Query is nested too deep: introspection fragments and fields nest \
                         at most {MAX_NESTING} levels"
                    ),
                };
                let mut error = ServerError::new(message, None);
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("code", ErrorCode::QueryTooComplex.as_str());
                Route::Refused(Response::from_errors(vec![error]))
            }
        }
    }

    pub async fn execute(&self, request: Request) -> Response {
        self.schema.execute(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intro() -> Introspection {
        Introspection::new(&Limits::default())
    }

    #[test]
    fn the_standard_query_is_introspection_and_within_the_cap() {
        let i = intro();
        let doc = async_graphql::parser::parse_query(REFERENCE).unwrap();
        assert!(is_introspection_only(&doc));
        assert!(i.reference_cost() > 1000, "{}", i.reference_cost());
        assert_eq!(i.cap(), CAP_MULTIPLE * i.reference_cost());
    }

    #[test]
    fn what_counts_as_introspection_only() {
        let yes = [
            "{ __typename }",
            "{ __schema { types { name } } }",
            "query A { __type(name: \"Case\") { name } } query B { __typename }",
            "{ ...F } fragment F on Query { __schema { queryType { name } } }",
            "{ ... on Query { __typename } ... { __type(name: \"Case\") { name } } }",
        ];
        let no = [
            "{ me { subject } }",
            "{ __typename me { subject } }",
            "query A { __typename } query B { me { subject } }",
            "{ ...F } fragment F on Query { me { subject } }",
            "{ ...Missing }",
            "mutation { __typename }",
            "subscription { __typename }",
        ];
        for q in yes {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            assert!(is_introspection_only(&doc), "{q}");
        }
        for q in no {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            assert!(!is_introspection_only(&doc), "{q}");
        }
    }

    #[test]
    fn recursion_and_aliases_are_priced() {
        let i = intro();
        let mut nested = String::from("name");
        for _ in 0..6 {
            nested = format!("fields {{ type {{ {nested} }} }}");
        }
        let cost = i
            .estimate(&format!("{{ __schema {{ types {{ {nested} }} }} }}"))
            .unwrap();
        assert!(cost > i.cap(), "{cost}");
        let aliases: String = (0..CAP_MULTIPLE + 1)
            .map(|n| format!("a{n}: __schema {{ types {{ ...FullType }} }} "))
            .collect();
        let full_type = &REFERENCE[REFERENCE.find("fragment FullType").unwrap()..];
        let cost = i.estimate(&format!("{{ {aliases} }} {full_type}")).unwrap();
        assert!(cost > i.cap(), "{cost}");
        // A cheap lookup stays cheap.
        let cost = i
            .estimate("{ __type(name: \"Case\") { fields { name } } }")
            .unwrap();
        assert!(cost < 200, "{cost}");
    }

    #[test]
    fn exponential_fragments_stop_at_the_cap() {
        let i = intro();
        let mut doc = String::from("{ __schema { types { ...F0 } } }\n");
        for n in 0..25 {
            doc.push_str(&format!(
                "fragment F{n} on __Type {{ a: ofType {{ ...F{m} }} b: ofType {{ ...F{m} }} }}\n",
                m = n + 1
            ));
        }
        doc.push_str("fragment F25 on __Type { name }\n");
        let parsed = async_graphql::parser::parse_query(&doc).unwrap();
        let cost = estimate(&parsed, &i.sizes, i.cap()).unwrap();
        assert!(cost > i.cap());
        let route = i.route(Request::new(doc));
        assert!(matches!(route, Route::Refused(_)));
    }
}
