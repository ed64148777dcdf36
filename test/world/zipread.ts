// Reads every entry of a zip held in memory (yauzl), so the world hashes the
// zip it actually serves, entry names as stored, exactly as the go command's
// dirhash.HashZip does.
import yauzl from 'yauzl';

export interface ZipEntryData {
  name: string;
  data: Buffer;
}

export function readZipEntries(zip: Buffer): Promise<ZipEntryData[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true }, (err, zipfile) => {
      if (err !== null) {
        reject(err);
        return;
      }
      const out: ZipEntryData[] = [];
      zipfile.on('error', reject);
      zipfile.on('end', () => resolve(out));
      zipfile.on('entry', (entry: yauzl.Entry) => {
        zipfile.openReadStream(entry, (e, stream) => {
          if (e !== null) {
            reject(e);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            out.push({ name: entry.fileName, data: Buffer.concat(chunks) });
            zipfile.readEntry();
          });
        });
      });
      zipfile.readEntry();
    });
  });
}
