// The source form: the name follows the title (munged as CKAN munges names) until someone edits it.
(function () {
  const t = document.getElementById("title");
  const n = document.getElementById("name");
  const p = document.querySelector("#name-preview span");
  const form = n.form;
  let touched = form.dataset.existing === "true" || n.value !== "";
  n.addEventListener("input", function () {
    touched = true;
    p.textContent = n.value;
  });
  t.addEventListener("input", function () {
    if (touched) return;
    n.value = t.value.toLowerCase().normalize("NFKD").replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "")
      .slice(0, 100);
    p.textContent = n.value;
  });
})();
