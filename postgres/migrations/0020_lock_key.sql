-- 0020_lock_key: the key of a user's or a profile's advisory lock, computed
-- where the id is: FNV-1a (32 bits) of the id's UTF-8 bytes, as a signed
-- integer, the same as the store's keyOf in Go. A decision then reads its
-- task's subject and profile and locks them in one statement (lock.go).
CREATE FUNCTION roster_lock_key(id TEXT) RETURNS INTEGER
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	b BYTEA := convert_to(id, 'UTF8');
	h BIGINT := 2166136261;
BEGIN
	FOR i IN 0 .. length(b) - 1 LOOP
		h := ((h # get_byte(b, i)) * 16777619) & 4294967295;
	END LOOP;
	IF h >= 2147483648 THEN
		h := h - 4294967296;
	END IF;
	RETURN h::INTEGER;
END
$$;
