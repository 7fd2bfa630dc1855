// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Filters apply as soon as a box is ticked, when scripts run.
  const form = document.getElementById("search-form");
  if (form) {
    form.querySelectorAll(".filters input[type=checkbox], .filters select").forEach((input) => {
      input.addEventListener("change", () => form.requestSubmit());
    });
  }

  // A citation box selects its whole text when focused, and its copy button appears.
  document.querySelectorAll("textarea.cite-text").forEach((box) => {
    box.addEventListener("focus", () => box.select());
  });
  document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
    const box = document.getElementById(button.dataset.copy);
    if (!box) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      box.select();
      try {
        await navigator.clipboard.writeText(box.value);
      } catch (error) {
        document.execCommand("copy"); // older browsers, and pages not served over https
      }
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
    });
  });

  // A wide table says so when part of it is out of view, and can be scrolled from the keyboard.
  const markOverflow = () => {
    document.querySelectorAll(".table-scroll, table.data").forEach((box) => {
      const overflowing = box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX === "auto";
      box.classList.toggle("overflowing", overflowing);
      if (overflowing && !box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
      const cue = box.previousElementSibling;
      if (cue && cue.classList.contains("scroll-cue")) cue.hidden = !overflowing;
    });
  };
  markOverflow();
  window.addEventListener("resize", markOverflow);
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
