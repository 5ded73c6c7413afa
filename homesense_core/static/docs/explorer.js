// Starts Swagger UI on the contract this stage serves. The served openapi.yaml names this
// deployment in `servers` (set at serve time), so "Try it out" calls the stage the page came from.
(function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: "openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The bearer token typed into "Authorize" survives a reload of the page.
    persistAuthorization: true,
    displayRequestDuration: true,
    // Swagger UI would otherwise send the spec to an external validator badge service.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
