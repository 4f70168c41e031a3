// The page computes a chosen file's sha256 (Web Crypto) into the form's sha256 field, so the
// person sees the digest that will be recorded; without JavaScript the server computes it.
(function () {
  "use strict";
  var form = document.getElementById("evidence-form");
  if (!form || !window.crypto || !window.crypto.subtle) { return; }
  var file = form.querySelector("input[type=file]");
  var digest = form.querySelector("input[name=sha256]");
  if (!file || !digest) { return; }
  file.addEventListener("change", async function () {
    if (!file.files.length) { return; }
    var buffer = await file.files[0].arrayBuffer();
    var hash = new Uint8Array(await window.crypto.subtle.digest("SHA-256", buffer));
    digest.value = Array.from(hash, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  });
})();
