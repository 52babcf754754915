import { buildMessage, isEmail, ValidateBy, ValidateIf, type ValidationOptions } from 'class-validator';

/**
 * Characters no name or email may hold (R-SEC-5): a lone surrogate, control characters (C0, DEL, C1),
 * bidirectional marks, embeddings, overrides and isolates, zero-width characters and the byte-order
 * mark, line and paragraph separators. They make one name look like another or break what displays it.
 */
const UNSAFE_IN_TEXT = /[\p{Cs}\p{Cc}\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/u;

/** A string is well-formed Unicode when it holds no lone surrogate. */
export const isWellFormed = (value: string): boolean => !/\p{Cs}/u.test(value);

export const isPlainText = (value: unknown): boolean => typeof value === 'string' && !UNSAFE_IN_TEXT.test(value);

/** A name, email or username: well-formed, with no control, bidirectional or invisible character (R-SEC-5). Types are left to `@IsString()`. */
export function IsPlainText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPlainText',
      validator: {
        validate: (value) => typeof value !== 'string' || isPlainText(value),
        defaultMessage: buildMessage((each) => `${each}$property must not contain control, bidirectional or invisible characters`, options),
      },
    },
    options,
  );
}

/**
 * An email address that is plain text (R-SEC-5). class-validator's `isEmail` throws a URIError on a lone
 * surrogate (a 500); here such a value is just not an email.
 */
export function IsEmailAddress(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isEmail',
      validator: {
        validate: (value) => isPlainText(value) && safely(() => isEmail(value)),
        defaultMessage: buildMessage((each) => `${each}$property must be an email`, options),
      },
    },
    options,
  );
}

/**
 * The field may be left out; when it is present it is validated, `null` included. class-validator's
 * `@IsOptional()` lets `null` through, and a null where the domain expects a value reached events (R-SEC-5).
 */
export const MayOmit = (options?: ValidationOptions): PropertyDecorator => ValidateIf((_object, value) => value !== undefined, options);

function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** A phone number in E.164 form, e.g. +14155550123. */
export const E164 = /^\+[1-9]\d{6,14}$/;
