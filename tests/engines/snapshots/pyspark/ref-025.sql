SELECT
  COUNT(*) AS `n_flights`
FROM (
  SELECT
    *
  FROM `flights` AS `t0`
  WHERE
    (
      (
        DAYOFWEEK(`t0`.`time_hour`) + 5
      ) % 7
    ) >= 5
) AS `t1`
