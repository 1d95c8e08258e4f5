// Translated words from Python (`strings` trait, keyed by the English text): tr(english, { name: value }).
// ui/strings.view_js puts this in front of every view's JS; each view fills S from model.get("strings").
let S = {};
function tr(msg, vars) {
  let s = S[msg] || msg;
  if (vars) for (const k of Object.keys(vars)) s = s.split("{" + k + "}").join(String(vars[k]));
  return s;
}

