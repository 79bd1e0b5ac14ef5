'use strict';
/** Helpers the cloud baselines share (files starting with `_` are not drivers). */

/**
 * Deletes `key` and everything below it, as the drivers do: one pass over a flat listing of
 * `key` (an async iterable of keys), deleting in batches of 1000 with `deleteBatch(keys)`.
 */
async function deleteUnder(listed, key, deleteBatch) {
  let batch = [];
  const flush = async () => {
    if (batch.length) await deleteBatch(batch);
    batch = [];
  };
  for await (const found of listed) {
    if (found !== key && !found.startsWith(`${key}/`)) continue;
    batch.push(found);
    if (batch.length === 1000) await flush();
  }
  await flush();
}

module.exports = { deleteUnder };
