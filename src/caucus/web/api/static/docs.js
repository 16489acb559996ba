// Starts Swagger UI (vendored: the swagger-ui-py package, served from /api/v1/docs/static/) on this
// API's OpenAPI document. A file, not an inline script, so that the page's Content-Security-Policy allows
// no inline script at all.
window.ui = window.SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  queryConfigEnabled: false,
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
