/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * Headers for every page outpost itself serves: no framing (clickjacking on the sign-in page),
 * no inline scripts, and no caching of pages that show who is signed in.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const STYLE = `
  :root { color-scheme: light dark; --accent: #fd4b2d; --muted: #6b7280; --line: #d1d5db; }
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
         display: grid; place-items: start center; min-height: 100vh; }
  main { width: min(44rem, 100% - 2rem); margin: 3rem 0; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  p.lead { color: var(--muted); margin: 0 0 1.5rem; }
  code, pre { font: 14px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
  pre { background: rgba(127,127,127,.12); padding: .75rem; overflow-x: auto; border-radius: 6px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line);
           vertical-align: top; word-break: break-all; }
  th { white-space: nowrap; word-break: normal; }
  .error { border-left: 4px solid var(--accent); padding-left: 1rem; }
  button { font: inherit; cursor: pointer; }
  a { color: inherit; }
`;

/** A complete page: title, main content (already escaped HTML) and the shared style. */
export function renderPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
