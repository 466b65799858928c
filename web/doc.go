// Package web serves Comet's HTML: the public pages (a model's claim in plain words, its
// provider, the log), the in-browser verifier, and the registry operator's admin console.
//
// Pages are rendered on the server with html/template, which escapes every provider-supplied
// string for its context; assets are embedded, nothing is fetched from elsewhere, and every
// response carries a Content-Security-Policy that allows no inline script, so that a string
// that slips past escaping still cannot run. Handlers ask the registry's services
// (registry/service, registry/store reads); there is no SQL here.
package web
