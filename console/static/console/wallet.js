// Sign in with an injected EIP-1193 wallet (window.ethereum): eth_requestAccounts, the message
// from web3.siwe.challenge, personal_sign, then the form posts message and signature to the
// console, which verifies them (web3.siwe.verify's service) and binds the session to the token.
(function () {
  "use strict";
  var form = document.getElementById("wallet-signin");
  var button = document.getElementById("wallet-button");
  var status = document.getElementById("wallet-status");
  if (!form || !button) { return; }

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "muted";
  }

  function toHex(text) {
    var bytes = new TextEncoder().encode(text);
    var out = "0x";
    for (var i = 0; i < bytes.length; i++) { out += bytes[i].toString(16).padStart(2, "0"); }
    return out;
  }

  async function signIn() {
    if (!window.ethereum || typeof window.ethereum.request !== "function") {
      say("No wallet found in this browser. Install a browser wallet (an EIP-1193 wallet such as MetaMask), " +
          "or import the demo wallet's key into one, then reload this page.", true);
      return;
    }
    button.disabled = true;
    try {
      say("Asking your wallet for its account…");
      var accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) { throw new Error("the wallet shared no account"); }
      var address = accounts[0];
      var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      var answer = await fetch(form.dataset.challengeUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ address: address })
      }).then(function (r) { return r.json(); });
      if (!answer.ok) { throw new Error(answer.error.message); }
      var message = answer.result.message;
      say("Sign the message in your wallet…");
      var signature = await window.ethereum.request({ method: "personal_sign", params: [toHex(message), address] });
      form.elements.message.value = message;
      form.elements.signature.value = signature;
      try { form.elements.timezone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* stays UTC */ }
      say("Signing in…");
      form.submit();
    } catch (err) {
      say("Sign-in did not complete: " + (err && err.message ? err.message : err), true);
      button.disabled = false;
    }
  }

  button.addEventListener("click", signIn);
})();
