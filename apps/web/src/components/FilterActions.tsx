import { button } from './ui';

/** A filter bar's right-hand buttons: Clear (while something is filtered) and Apply (submits the form). */
export function FilterActions({ active, onClear }: { active: boolean; onClear: () => void }) {
  return (
    <div className="ml-auto flex gap-2">
      {active && (
        <button type="button" className={button.secondary} onClick={onClear}>
          Clear
        </button>
      )}
      <button type="submit" className={button.primary}>Apply</button>
    </div>
  );
}
