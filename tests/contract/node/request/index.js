// A stand-in for the npm `request` package, which the seeds' Node examples load. `request`
// has been deprecated since 2020 and is not installed here; this sends what it sends for those
// examples — `method`, `url`, `headers`, and `formData` (streams from fs.createReadStream) as
// multipart/form-data — with Node's own fetch, then calls back with `{statusCode, headers,
// body}`. It prints `HTTP <status>` on stderr for the contract suite; the examples themselves
// print the body.
const fs = require('fs');
const path = require('path');

module.exports = function request(options, callback) {
  const init = { method: options.method || 'GET', headers: { ...(options.headers || {}) } };
  if (options.formData) {
    const form = new FormData();
    for (const [name, value] of Object.entries(options.formData)) {
      if (value && typeof value.path === 'string') {
        form.append(name, new Blob([fs.readFileSync(value.path)]), path.basename(value.path));
        value.destroy();
      } else {
        form.append(name, String(value));
      }
    }
    init.body = form;
  }
  fetch(options.url, init).then(
    async (res) => {
      const body = await res.text();
      process.stderr.write(`HTTP ${res.status}\n`);
      callback(null, { statusCode: res.status, headers: Object.fromEntries(res.headers), body });
    },
    (error) => callback(error),
  );
};
