// ESLint (flat config) for the map's browser code: `make jslint`, part of `make test`.
// map.js is a classic script inlined in the map pages, run by the browser with Leaflet loaded
// before it as the global L; it defines the global fc that the page's own scripts call.
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  {
    files: ["forestcarbon/outputs/static/map.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: { ...globals.browser, L: "readonly" },
    },
  },
];
