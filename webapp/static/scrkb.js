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

// Reviewing a theme tag posts its form by fetch and puts the row the server sends back in
// place, so the page does not reload; without scripts the same form posts and redirects back.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form.review-form");
  if (!form) {
    return;
  }
  event.preventDefault();
  const box = form.closest(".reviews");
  const message = box ? box.querySelector(".review-message") : null;
  const data = new FormData(form);
  if (event.submitter && event.submitter.name) {
    data.set(event.submitter.name, event.submitter.value);
  }
  form.querySelectorAll("button").forEach((button) => { button.disabled = true; });
  let body = null;
  let ok = false;
  try {
    const response = await fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" },
    });
    ok = response.ok;
    body = await response.json();
  } catch (error) {
    body = null;
  }
  form.querySelectorAll("button").forEach((button) => { button.disabled = false; });
  if (!ok || !body || !body.html) {
    const reason = body && body.error ? body.error.message : "The review could not be saved; please try again.";
    if (message) {
      message.textContent = reason;
      message.classList.add("error");
    }
    return;
  }
  const template = document.createElement("template");
  template.innerHTML = body.html.trim();
  const row = template.content.firstElementChild;
  const existing = document.getElementById(row.id);
  if (existing) {
    existing.replaceWith(row);
  } else if (box) {
    box.querySelector(".review-list").appendChild(row);
    const option = form.querySelector(`select[name=theme] option[value="${CSS.escape(body.review.theme_id)}"]`);
    if (option) {
      option.remove();
    }
    form.reset();
  }
  if (message) {
    message.textContent = body.message;
    message.classList.remove("error");
  }
});
