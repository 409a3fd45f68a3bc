// `npm run schema`: regenerates config/watch.schema.json from the zod schema (src/config/schema.ts).
import { writeFile } from 'node:fs/promises';
import { watchFileJsonSchemaText } from '../src/config/jsonSchema.ts';

const target = new URL('../config/watch.schema.json', import.meta.url);
await writeFile(target, watchFileJsonSchemaText());
console.log(`wrote ${target.pathname}`);
