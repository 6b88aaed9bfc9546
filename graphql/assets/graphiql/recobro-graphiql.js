// Recobro's own: starts GraphiQL on this origin. Queries and mutations POST to /graphql;
// subscriptions use graphql-ws on the same path. The token goes in the headers editor
// as `Authorization: Bearer <token>`; GraphiQL sends those headers with every request
// and as the WebSocket's connection_init payload. They are not stored in the browser.
(function () {
  'use strict';
  var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
  var fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    subscriptionUrl: scheme + window.location.host + '/graphql',
  });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: '{\n  "Authorization": "Bearer <token>"\n}',
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
    })
  );
})();
