import { DECORATORS } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';

/** What class-validator keeps of one rule on one property (its `ValidationMetadata`, the fields read here). */
interface Rule {
  name?: string;
  propertyName: string;
  constraints?: unknown[];
  each?: boolean;
}

type Schema = Record<string, unknown>;

/** The keywords @nestjs/swagger puts on a list's items rather than on the list (its extractPropertyModifiers). */
const ITEM_KEYWORDS = ['format', 'maximum', 'maxLength', 'minimum', 'minLength', 'pattern'];

/** A validator's rule as OpenAPI keywords; rules with no keyword (isString, isPlainText, …) give none. */
function keywordsOf(rule: Rule, property: Schema): Schema {
  const [first] = rule.constraints ?? [];
  if (rule.each) {
    // A rule on each item of a list: @nestjs/swagger moves these keywords of a list property onto its items.
    if (!property.isArray) return {};
    const item = keywordsOf({ ...rule, each: false }, { ...property, isArray: false });
    return Object.fromEntries(Object.entries(item).filter(([keyword]) => ITEM_KEYWORDS.includes(keyword)));
  }
  switch (rule.name) {
    case 'isEmail': return { format: 'email' };
    case 'isUuid': return { format: 'uuid' };
    case 'isIso8601': return { format: 'date-time' };
    case 'maxLength': return { maxLength: first };
    case 'minLength': return { minLength: first };
    case 'isNotEmpty': return property.type === String ? { minLength: 1 } : {};
    case 'matches': return first instanceof RegExp ? { pattern: first.source } : {};
    case 'min': return { minimum: first };
    case 'max': return { maximum: first };
    case 'isIn': return Array.isArray(first) ? { enum: first } : {};
    case 'arrayMaxSize': return { maxItems: first };
    case 'arrayMinSize': return { minItems: first };
    case 'isInt': return property.type === Number || property.type === 'number' ? { type: 'integer' } : {};
    default: return {};
  }
}

/**
 * Carries every DTO's validation rules into its OpenAPI description (issue 18): formats (email, uuid,
 * date-time), lengths, patterns, bounds, enums and list sizes, read from the class-validator decorators
 * the API enforces, so the document cannot drift from the checks. This is what @nestjs/swagger's CLI
 * plugin does at compile time; the build here is plain `tsc`, which runs no plugin. What a property's
 * `@ApiProperty` states itself wins; properties without one are left undocumented, as before.
 * Idempotent: run before each SwaggerModule.createDocument.
 */
export function describeValidationRules(): void {
  const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<Function, Rule[]> };
  for (const [target, rules] of storage.validationMetadatas) {
    const prototype = (target as { prototype?: object }).prototype;
    if (!prototype) continue;
    for (const name of new Set(rules.map((r) => r.propertyName))) {
      const own = Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES, prototype, name) as Schema | undefined;
      if (!own) continue;
      const derived: Schema = {};
      for (const rule of rules.filter((r) => r.propertyName === name)) {
        for (const [keyword, value] of Object.entries(keywordsOf(rule, own))) {
          // Two rules on one bound (IsNotEmpty and MinLength): the stricter holds.
          derived[keyword] = keyword === 'minLength' && typeof derived[keyword] === 'number' ? Math.max(derived[keyword] as number, value as number) : value;
        }
      }
      if (Object.keys(derived).length === 0) continue;
      // Running again derives the same keywords, which the stored metadata already holds: nothing changes.
      const type = derived.type === 'integer' ? { type: 'integer' } : {};
      Reflect.defineMetadata(DECORATORS.API_MODEL_PROPERTIES, { ...derived, ...own, ...type }, prototype, name);
    }
  }
}
