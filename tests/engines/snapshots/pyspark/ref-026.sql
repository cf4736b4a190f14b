SELECT
  `t1`.`dest`,
  COUNT(*) AS `n_flights`
FROM (
  SELECT
    *
  FROM `flights` AS `t0`
  WHERE
    `t0`.`origin` = 'JFK' AND `t0`.`dest` IN ('LAX', 'SFO', 'SEA')
) AS `t1`
GROUP BY
  1
