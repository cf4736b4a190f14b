SELECT
  *
FROM (
  SELECT
    `t1`.`carrier`,
    `t1`.`n_flights`,
    (
      RANK() OVER (ORDER BY `t1`.`n_flights` DESC) - 1
    ) + 1 AS `rank`
  FROM (
    SELECT
      `t0`.`carrier`,
      COUNT(*) AS `n_flights`
    FROM `flights` AS `t0`
    GROUP BY
      1
  ) AS `t1`
) AS `t2`
ORDER BY
  `t2`.`rank` ASC NULLS LAST
