// ESLint 9 flat config for the front end: native ES modules in the browser (no build step), Leaflet
// and django-leaflet as the vendored classic script read through window.L, and the Node unit tests.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    ignores: ["node_modules/", ".venv/", "var/", "static/vendor/"], // var/ holds collectstatic's copies (Leaflet too)
  },
  js.configs.recommended,
  {
    files: ["**/static/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    rules: {
      // Leaflet is a classic global: modules reach it as window.L, so what they depend on shows.
      "no-restricted-globals": ["error", { name: "L", message: "Use window.L." }],
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
      eqeqeq: "error",
      "prefer-const": "error",
    },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
];
