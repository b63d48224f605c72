/**
 * The dev panel's only script, served as a file from outpost's own path so that the page's
 * Content-Security-Policy needs no inline script. It makes the path box answer while typing by
 * asking the panel's JSON endpoint; without it the box still works as a plain GET form.
 */
export const DEV_PANEL_SCRIPT = `'use strict';
(() => {
  const form = document.getElementById('path-test');
  const input = document.getElementById('path-input');
  const result = document.getElementById('path-result');
  if (!form || !input || !result) return;
  let timer;
  let latest = 0;

  const show = (verdict, text) => {
    result.dataset.verdict = verdict;
    result.textContent = text;
  };

  const test = async () => {
    const value = input.value.trim();
    const asked = ++latest;
    if (value === '') return show('', '');
    try {
      const url = form.dataset.endpoint + '?path=' + encodeURIComponent(value);
      const response = await fetch(url, { headers: { accept: 'application/json' } });
      const answer = await response.json();
      if (asked === latest) show(answer.verdict || '', answer.summary || answer.error || '');
    } catch {
      if (asked === latest) show('refused', 'outpost did not answer: is it still running?');
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(test, 150);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(timer);
    void test();
  });
})();
`;
