// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Filters apply as soon as a box is ticked, when scripts run.
  const form = document.getElementById("search-form");
  if (form) {
    form.querySelectorAll(".filters input[type=checkbox], .filters select").forEach((input) => {
      input.addEventListener("change", () => form.requestSubmit());
    });
  }
});
