// "Sign with wallet": the wallet personal_signs the exact string shown in [data-sign-message]
// and the signature goes into [data-sign-into]; the person then submits the form.
(function () {
  "use strict";
  document.querySelectorAll("[data-sign-with-wallet]").forEach(function (button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-sign-status]");
    function say(text) { if (status) { status.textContent = text; } }
    button.addEventListener("click", async function () {
      if (!window.ethereum) { say("No wallet found in this browser: sign the string elsewhere and paste the signature."); return; }
      try {
        var accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
        var text = form.querySelector("[data-sign-message]").value;
        var bytes = new TextEncoder().encode(text), hex = "0x";
        for (var i = 0; i < bytes.length; i++) { hex += bytes[i].toString(16).padStart(2, "0"); }
        var signature = await window.ethereum.request({ method: "personal_sign", params: [hex, accounts[0]] });
        form.querySelector("[data-sign-into]").value = signature;
        say("Signed. Now submit.");
      } catch (err) { say("The wallet did not sign: " + (err && err.message ? err.message : err)); }
    });
  });
})();
