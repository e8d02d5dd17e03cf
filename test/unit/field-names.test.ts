import { describe, expect, it } from 'vitest';
import { closestFieldName, editDistance } from '../../src/config/field-names.js';

const streamFields = ['name', 'globs', 'format', 'query', 'primary_key', 'on_error'];
const topFields = ['bucket', 'region', 'credentials', 'endpoint', 'force_path_style', 'path', 'file_type', 'start_date', 'streams'];
const userKeyFields = ['auth_type', 'aws_access_key_id', 'aws_secret_access_key'];

describe('closestFieldName', () => {
  it('finds the field behind typing slips', () => {
    expect(closestFieldName('glob', streamFields)).toBe('globs');
    expect(closestFieldName('primery_key', streamFields)).toBe('primary_key');
    expect(closestFieldName('qeury', streamFields)).toBe('query');
    expect(closestFieldName('file_typ', topFields)).toBe('file_type');
    expect(closestFieldName('filetype', topFields)).toBe('file_type');
    expect(closestFieldName('regoin', topFields)).toBe('region');
    expect(closestFieldName('pth', topFields)).toBe('path');
    expect(closestFieldName('delimeter', ['filetype', 'delimiter', 'quote_char'])).toBe('delimiter');
  });

  it('finds the field written another way', () => {
    expect(closestFieldName('primaryKey', streamFields)).toBe('primary_key');
    expect(closestFieldName('Primary-Key', streamFields)).toBe('primary_key');
    expect(closestFieldName('forcePathStyle', topFields)).toBe('force_path_style');
    expect(closestFieldName('AWS_ACCESS_KEY_ID', userKeyFields)).toBe('aws_access_key_id');
  });

  it('finds the field with a word more or fewer', () => {
    expect(closestFieldName('aws_access_key', userKeyFields)).toBe('aws_access_key_id');
    expect(closestFieldName('aws_secret_key', userKeyFields)).toBe('aws_secret_access_key');
    expect(closestFieldName('access_key', userKeyFields)).toBe('aws_access_key_id');
    expect(closestFieldName('path_prefix', topFields)).toBe('path');
    expect(closestFieldName('bucket_name', topFields)).toBe('bucket');
    expect(closestFieldName('endpoint_url', topFields)).toBe('endpoint');
    expect(closestFieldName('type', topFields)).toBe('file_type');
    expect(closestFieldName('type', userKeyFields)).toBe('auth_type');
  });

  it('leaves unrelated keys alone', () => {
    for (const key of ['_comment', 'description', 'notes', 'owner', 'tags', 'version', 'id', 'x', 'key', '$schema']) {
      expect(closestFieldName(key, [...topFields, ...streamFields, ...userKeyFields]), key).toBeUndefined();
    }
  });
});

describe('editDistance', () => {
  it('counts inserts, deletes, substitutions and swaps of neighbours', () => {
    expect(editDistance('glob', 'globs')).toBe(1);
    expect(editDistance('delimeter', 'delimiter')).toBe(1);
    expect(editDistance('qeury', 'query')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
