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
