// /verify: runs Comet's verifier (verifier.wasm, built from the code comet verify runs) in
// this browser and shows its report line by line. No inline script: the page's CSP allows
// only scripts from this origin, and 'wasm-unsafe-eval' for the verifier.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("verify-form"), result = $("result"), report = $("report"), status = $("status"), verdict = $("verdict");
  let ready = null; // a Promise of the started verifier

  function loadVerifier() {
    if (ready) return ready;
    const started = performance.now();
    ready = new Promise((resolve, reject) => {
      globalThis.cometVerifierReady = () => {
        result.dataset.loadMs = String(Math.round(performance.now() - started));
        resolve(globalThis.cometVerifier);
      };
      const go = new Go();
      WebAssembly.instantiateStreaming(fetch("/static/verifier.wasm"), go.importObject)
        .then((r) => go.run(r.instance))
        .catch(reject);
    });
    return ready;
  }

  // confirm shows the registry's trust root and settles when the visitor pins or refuses it.
  function confirm(version, fingerprint, expires) {
    $("trust-version").textContent = String(version);
    $("trust-expires").textContent = expires;
    $("trust-fingerprint").textContent = "sha256:" + fingerprint;
    const panel = $("trust");
    panel.hidden = false;
    result.dataset.state = "confirm";
    $("trust-accept").focus();
    return new Promise((resolve) => {
      const done = (ok) => () => {
        panel.hidden = true;
        result.dataset.state = "running";
        resolve(ok);
      };
      $("trust-accept").onclick = done(true);
      $("trust-refuse").onclick = done(false);
    });
  }

  // addLine shows one report line. Its text is the CLI's line, byte for byte; a check's is
  // split into its padded columns so that a narrow screen can stack them (verify.css).
  function addLine(l) {
    const li = document.createElement("li");
    li.className = l.status ? l.status.replace(" ", "-") : l.kind;
    li.dataset.kind = l.kind;
    const cols = l.name === undefined ? null : [l.name.padEnd(38) + " ", l.status.padEnd(11) + " ", l.detail];
    if (cols && cols.join("") === l.text) {
      ["name", "status", "detail"].forEach((c, i) => {
        const span = document.createElement("span");
        span.className = c;
        span.textContent = cols[i];
        li.appendChild(span);
      });
    } else {
      li.textContent = l.text;
    }
    report.appendChild(li);
  }

  async function readFile(input) {
    const f = input.files && input.files[0];
    if (!f) return null;
    return { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) };
  }

  async function start() {
    const button = $("verify-button");
    button.disabled = true;
    report.textContent = "";
    verdict.textContent = "";
    verdict.className = "";
    result.dataset.state = "loading";
    status.textContent = "Loading the verifier…";
    try {
      const verifier = await loadVerifier();
      const file = await readFile($("model-file"));
      const model = $("model").value.trim();
      if (!file && !model) throw new Error("give a model SHA-256 or a model file");
      result.dataset.state = "running";
      status.textContent = "Verifying " + (file ? file.name : model) + "…";
      const t0 = performance.now();
      const res = await verifier.verify({
        model: model, file: file ? file.bytes : null, fileName: file ? file.name : "",
        provider: $("provider").value.trim(), singleParty: $("single-party").checked,
        onLine: addLine, confirm: confirm,
      });
      result.dataset.ms = String(Math.round(performance.now() - t0));
      verdict.textContent = res.verified ? "Verified: every check passed." : res.error;
      verdict.className = res.verified ? "passed" : "failed";
      status.textContent = res.verified ? "Done." : "Done: the model did not verify.";
      result.dataset.verified = String(res.verified);
    } catch (e) {
      verdict.textContent = String(e && e.message ? e.message : e);
      verdict.className = "failed";
      status.textContent = "The verifier could not run.";
      result.dataset.verified = "false";
    } finally {
      result.dataset.state = "done";
      button.disabled = false;
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    start();
  });
  // A file chosen clears the hash: the file is what is verified.
  $("model-file").addEventListener("change", () => { if ($("model-file").files.length) $("model").value = ""; });
  loadVerifier().catch((e) => { status.textContent = "The verifier did not load: " + e; });
  if (new URLSearchParams(location.search).get("model") && $("model").validity.valid) start();
})();
