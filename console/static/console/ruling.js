// The ruling form's slider: as it moves, ask the server for the amounts that share moves and show
// them (the page shows the same on "Show amounts" without JavaScript). No amount is computed here.
(() => {
  const form = document.getElementById("ruling-form");
  if (!form) return;
  const slider = form.querySelector("input[name=payee_share_bps]");
  const target = document.getElementById("split");
  if (!slider || !target) return;
  let timer = null;
  const refresh = () => {
    const url = form.dataset.splitUrl + "?payee_share_bps=" + encodeURIComponent(slider.value);
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => { if (html !== null) target.innerHTML = html; })
      .catch(() => {});
  };
  slider.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 120); });
})();
