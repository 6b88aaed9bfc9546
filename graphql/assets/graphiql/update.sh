#!/bin/sh
# Re-fetches GraphiQL's browser bundle and React's production builds from the npm
# registry into this directory. Usage: ./update.sh [graphiql-version] [react-version]
# Then update the versions in README.md, rebuild, and check the page (GET /graphql).
set -eu
GRAPHIQL=${1:-3.8.3}
REACT=${2:-18.3.1}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
for pkg in "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT"; do
  npm pack --silent "$pkg" >/dev/null
done
for tgz in *.tgz; do
  name=${tgz%-*.tgz}
  mkdir "$name"
  tar -xzf "$tgz" -C "$name" --strip-components=1
done
# The bundle names a source map the server does not serve: drop that comment so the
# browser's developer tools do not ask for it.
sed '/^\/\/# sourceMappingURL=/d' graphiql/graphiql.min.js >"$here/graphiql.min.js"
sed '/^\/\*# sourceMappingURL=.*\*\/$/d' graphiql/graphiql.min.css >"$here/graphiql.min.css"
cp react/umd/react.production.min.js "$here/react.production.min.js"
cp react-dom/umd/react-dom.production.min.js "$here/react-dom.production.min.js"
cp graphiql/LICENSE "$here/LICENSE-graphiql"
cp react/LICENSE "$here/LICENSE-react"
cp react-dom/LICENSE "$here/LICENSE-react-dom"
echo "fetched graphiql@$GRAPHIQL react@$REACT react-dom@$REACT"
ls -l "$here"
