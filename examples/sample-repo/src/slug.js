// A tiny library for the agentic demo: agents edit and test it.
export function slug(text) {
  var lower = text.toLowerCase();
  var dashed = lower.replace(/[^a-z0-9]+/g, '-');
  return dashed.replace(/^-+|-+$/g, '');
}
