import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { allDetailsMapped, client, errorMessage, fieldErrors, isApiError, keys } from '../../api';
import { Alert } from '../../components/Alert';
import { TextAreaField, TextField } from '../../components/Field';
import { SubmitButton } from '../../components/SubmitButton';

const LABELS = { name: 'Key name', public_key: 'Public key' };

export function SshKeyForm() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const [added, setAdded] = useState<string>();

  const add = useMutation({
    mutationFn: () => client.account.keys.create({ name: name.trim(), public_key: publicKey.trim() }),
    onSuccess: async (key) => {
      setName('');
      setPublicKey('');
      setAdded(key.name);
      await queryClient.invalidateQueries({ queryKey: keys.sshKeys });
    },
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setAdded(undefined);
    const errs: Record<string, string | undefined> = {};
    if (!name.trim()) errs.name = 'Give the key a name, e.g. laptop.';
    else if (name.trim().length > 64) errs.name = 'Use at most 64 characters.';
    if (!publicKey.trim()) errs.public_key = 'Paste your public key (the contents of a .pub file).';
    else if (publicKey.includes('PRIVATE KEY')) errs.public_key = 'This is a private key. Paste the public key (the .pub file) instead — never share the private one.';
    setLocal(errs);
    if (Object.keys(errs).length === 0) add.mutate();
    else add.reset();
  };

  const server = fieldErrors(add.error, LABELS);
  const errors = { ...server, ...local };
  const conflict = isApiError(add.error) && add.error.status === 409;

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      <h3 className="text-base font-semibold text-slate-900 dark:text-white">Add a key</h3>
      {added && <Alert tone="success">Key “{added}” added.</Alert>}
      {add.isError && (conflict || !allDetailsMapped(add.error, LABELS)) && <Alert>{errorMessage(add.error)}</Alert>}
      <TextField label="Key name" name="key_name" autoComplete="off" maxLength={64} value={name} onChange={(e) => {
          setName(e.target.value);
          setLocal((l) => ({ ...l, name: undefined }));
        }} error={errors.name} placeholder="laptop" />
      <TextAreaField
        label="Public key"
        name="public_key"
        rows={4}
        spellCheck={false}
        autoCapitalize="none"
        value={publicKey}
        onChange={(e) => {
          setPublicKey(e.target.value);
          setLocal((l) => ({ ...l, public_key: undefined }));
        }}
        error={errors.public_key}
        placeholder="ssh-ed25519 AAAA… user@host"
        hint={
          <>
            Paste the contents of your <code className="font-mono">~/.ssh/id_ed25519.pub</code> (ed25519, ECDSA or RSA ≥ 2048 bits). Press Ctrl+Enter to add.
          </>
        }
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit();
        }}
      />
      <SubmitButton pending={add.isPending} busy="Adding…">
        Add SSH key
      </SubmitButton>
    </form>
  );
}
